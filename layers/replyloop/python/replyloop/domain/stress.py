"""Stress tests: one version against another on the same queries, judged on the same rubric."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

TIE_MARGIN = 0.25  # overall scores closer than this are a tie


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One query through both versions (the seeds' ai_stress_test_log row)."""

    case_id: str
    interaction_id: str | None
    message: str
    baseline_reply: str
    candidate_reply: str
    baseline_score: float
    candidate_score: float
    comments: str
    tokens: int
    cost_usd: float

    @property
    def eval_score(self) -> float:
        """How much better the candidate did (positive) or worse (negative)."""
        return round(self.candidate_score - self.baseline_score, 3)

    @property
    def outcome(self) -> str:
        if abs(self.eval_score) < TIE_MARGIN:
            return "tie"
        return "win" if self.eval_score > 0 else "loss"

    @property
    def improved(self) -> bool:
        return self.outcome == "win"


@dataclass(frozen=True, slots=True)
class StressSummary:
    cases: int
    baseline_mean: float | None
    candidate_mean: float | None
    baseline_distribution: dict[int, int]
    candidate_distribution: dict[int, int]
    wins: int
    losses: int
    ties: int
    worst_regressions: list[CaseResult]
    tokens: int
    cost_usd: float

    @property
    def loss_share(self) -> float:
        return self.losses / self.cases if self.cases else 0.0


def _distribution(scores: Sequence[float]) -> dict[int, int]:
    counts = Counter(max(1, min(10, round(score))) for score in scores)
    return {bucket: counts.get(bucket, 0) for bucket in range(1, 11)}


def summarise(results: Sequence[CaseResult], worst: int = 5) -> StressSummary:
    outcomes = Counter(result.outcome for result in results)
    base, cand = [r.baseline_score for r in results], [r.candidate_score for r in results]
    regressions = sorted((r for r in results if r.outcome == "loss"), key=lambda r: r.eval_score)
    return StressSummary(
        cases=len(results),
        baseline_mean=round(sum(base) / len(base), 3) if base else None,
        candidate_mean=round(sum(cand) / len(cand), 3) if cand else None,
        baseline_distribution=_distribution(base),
        candidate_distribution=_distribution(cand),
        wins=outcomes["win"],
        losses=outcomes["loss"],
        ties=outcomes["tie"],
        worst_regressions=regressions[:worst],
        tokens=sum(r.tokens for r in results),
        cost_usd=round(sum(r.cost_usd for r in results), 6),
    )
