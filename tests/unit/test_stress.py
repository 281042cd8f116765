from __future__ import annotations

from replyloop.domain.stress import CaseResult, summarise


def case(base: float, cand: float, name: str = "m") -> CaseResult:
    return CaseResult(name, None, name, "b", "c", base, cand, "", 10, 0.001)


def test_outcomes_with_a_tie_margin():
    assert case(5, 6).outcome == "win"
    assert case(6, 5).outcome == "loss"
    assert case(5, 5.2).outcome == "tie"
    assert case(5, 6).eval_score == 1.0


def test_summary_counts_means_distribution_and_worst_regressions():
    results = [case(5, 9, "a"), case(8, 2, "b"), case(7, 6, "c"), case(4, 4.1, "d")]
    summary = summarise(results, worst=1)
    assert (summary.wins, summary.losses, summary.ties) == (1, 2, 1)
    assert summary.loss_share == 0.5
    assert summary.baseline_mean == 6.0
    assert summary.candidate_mean == 5.275
    assert summary.candidate_distribution[9] == 1 and sum(summary.candidate_distribution.values()) == 4
    assert [r.case_id for r in summary.worst_regressions] == ["b"]
    assert summary.tokens == 40


def test_an_empty_run():
    summary = summarise([])
    assert summary.cases == 0 and summary.baseline_mean is None and summary.loss_share == 0.0
