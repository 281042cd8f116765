"""Training data and the retrain's pure rules: OpenAI line validation, split, dedupe, compile, promote."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from replyloop.adapters.redaction import redact
from replyloop.domain.prompts import Exemplar, PromptVersion
from replyloop.domain.retrain import (
    LESSONS_HEADING,
    Outcome,
    PromptMaterial,
    compile_prompt,
    decide,
    evidence_of,
    paired_bootstrap,
)
from replyloop.domain.stress import CaseResult
from replyloop.domain.training import (
    Earned,
    FailedReply,
    dedupe_key,
    dpo_example,
    message_digest,
    sft_example,
    split_of,
    training_exclusion,
    validate_dpo,
    validate_sft,
)
from replyloop.services.export import DirectoryOutputs, ExportOptions, export_training_data

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
PROMPT = PromptVersion("reply", 1, "You are a support assistant.", NOW)


def test_a_built_example_is_valid_and_each_broken_rule_is_named():
    example = sft_example(PROMPT, "Where is my order?", "It ships today; tracking follows by email.")
    assert validate_sft(example) is None
    assert [m["role"] for m in example["messages"]] == ["system", "user", "assistant"]
    no_answer = {"messages": example["messages"][:2]}
    assert validate_sft(no_answer) == "no assistant message"
    empty = {"messages": [*example["messages"][:2], {"role": "assistant", "content": "  "}]}
    assert validate_sft(empty) == "message 2 has no content"
    assert validate_sft({"messages": [{"role": "robot", "content": "x"}]}) == "message 0 has role 'robot'"
    assert "unknown keys" in str(validate_sft({"messages": [{"role": "user", "content": "x", "mood": 1}]}))
    assert validate_sft({**example, "extra": 1}) == "not an object with only 'messages'"
    assert validate_sft(example, max_tokens=20) == "longer than 20 tokens"


def test_a_preference_pair_needs_two_different_single_assistant_outputs():
    pair = dpo_example(PROMPT, "Refund?", "Refunded today, 5-7 days to show.", "Check our FAQ.")
    assert validate_dpo(pair) is None
    assert validate_dpo({**pair, "non_preferred_output": pair["preferred_output"]}) == (
        "preferred and non-preferred outputs are the same"
    )
    assert validate_dpo({"input": pair["input"]}) is not None


def test_split_and_dedupe_ignore_case_and_spacing():
    assert dedupe_key("Where is  my order?", "Shipped.") == dedupe_key("where is my order? ", "shipped.")
    assert dedupe_key("Where is my order?", "Shipped.") != dedupe_key("Where is my order?", "Lost.")
    assert split_of("Where is  my ORDER?", 0.5) == split_of("where is my order?", 0.5)
    splits = [split_of(f"message {n}", 0.2) for n in range(2000)]
    assert 0.15 < splits.count("validation") / len(splits) < 0.25
    three = [split_of(f"message {n}", 0.2, 0.25) for n in range(2000)]
    assert 0.2 < three.count("holdout") / len(three) < 0.3
    assert 0.15 < three.count("validation") / len(three) < 0.25
    assert all(split_of(f"message {n}", 0.2, 0.25) == three[n] for n in range(50))  # a message's split is fixed


def material() -> PromptMaterial:
    found = PromptMaterial()
    for n in range(5):
        found.add(
            FailedReply(
                f"b{n}",
                f"billing question {n}",
                "See FAQ.",
                f"Refunded invoice {n}.",
                None,
                "too generic",
                "The reply pointed to a FAQ instead of acting. It did nothing.",
                float(n),
            )
        )
    found.add(
        FailedReply(
            "t1",
            "app crashes",
            "Restart it.",
            "Fixed in 2.3.1, update please.",
            None,
            "wrong facts",
            "The reply guessed.",
            1.0,
        )
    )
    return found


def test_the_compiled_prompt_has_lessons_by_category_and_the_best_exemplars_within_budget():
    old = (Exemplar("old question", "old answer"),)
    compiled = compile_prompt("You are a support assistant.", old, material(), token_budget=1000)
    lessons = compiled.text.split(LESSONS_HEADING, 1)[1].strip().splitlines()
    assert lessons[0].startswith("- too generic (5 failed replies): The reply pointed to a FAQ instead of acting.")
    assert lessons[1].startswith("- wrong facts (1 failed replies)")
    replies = [e.reply for e in compiled.exemplars]
    assert replies[:2] == ["Refunded invoice 4.", "Fixed in 2.3.1, update please."]  # best per category first
    assert replies[-1] == "old answer" and len(replies) == 5  # 3 + 1 new, then the old one
    recompiled = compile_prompt(compiled.text, compiled.exemplars, material(), token_budget=1000)
    assert recompiled.text.count(LESSONS_HEADING) == 1  # a retrain replaces the lessons, never stacks them
    tight = compile_prompt("Base.", old, material(), token_budget=12)
    assert sum(len(e.message) // 4 + len(e.reply) // 4 for e in tight.exemplars) <= 12


def case(baseline: float, candidate: float, n: int = 0) -> CaseResult:
    return CaseResult(f"c{n}", None, "m", "a", "b", baseline, candidate, "", 0, 0.0)


def gate(cases: list[CaseResult], min_cases: int = 4):
    return decide(evidence_of(cases, seed="run"), margin=0.5, max_loss_share=0.3, min_cases=min_cases)


@pytest.mark.parametrize(
    ("cases", "outcome", "says"),
    [
        ([case(5, 7, n) for n in range(4)], Outcome.PASSED, "won by 2.0"),
        ([case(5, 5.3, n) for n in range(4)], Outcome.NOT_PROMOTED, "did not win by the margin 0.5"),
        ([case(5, 9, 0), case(5, 9, 1), case(6, 3, 2), case(6, 3, 3)], Outcome.NOT_PROMOTED, "interval reaches 0"),
        ([case(5, 9, n) for n in range(3)] + [case(6, 3, 3)], Outcome.NOT_PROMOTED, "interval reaches 0"),
        ([], Outcome.INSUFFICIENT_EVIDENCE, "Only 0 held-out cases"),
        ([case(1, 10, 0)], Outcome.INSUFFICIENT_EVIDENCE, "at least 4 needed"),
    ],
)
def test_the_gate_needs_enough_cases_the_margin_a_significant_gain_and_few_losses(cases, outcome, says):
    decision = gate(cases)
    assert decision.outcome is outcome
    assert says in decision.reason


def test_a_significant_gain_with_too_many_losses_is_refused():
    cases = [case(2, 9, n) for n in range(13)] + [case(6, 5, 100 + n) for n in range(7)]
    decision = gate(cases, min_cases=20)
    assert decision.outcome is Outcome.NOT_PROMOTED
    assert "lost on 35% of queries (limit 30%)" in decision.reason


def test_the_paired_bootstrap_interval_covers_the_mean_and_is_reproducible():
    gains = [0.5, 1.0, -0.25, 2.0, 0.0, 1.5, 0.75, -0.5, 1.25, 0.25]
    low, high = paired_bootstrap(gains, seed="r1")
    mean = sum(gains) / len(gains)
    assert low < mean < high
    assert (low, high) == paired_bootstrap(gains, seed="r1")
    assert paired_bootstrap([1.0] * 30, seed="x") == (1.0, 1.0)  # no spread, no doubt
    evidence = evidence_of([case(5, 5 + g, n) for n, g in enumerate(gains)], seed="r1")
    assert evidence.ci95 == (low, high) and evidence.gain == round(mean, 3)
    assert evidence.to_json()["caseIds"] == [f"c{n}" for n in range(10)]


def earned(**overrides) -> Earned:
    values = {"original_score": 5.0, "preferred_score": 8.0, "author": "ana", "author_is_reviewer": False}
    return Earned(**{**values, **overrides})


@pytest.mark.parametrize(
    ("policy", "facts", "reason"),
    [
        ("reviewed", {}, "awaiting review"),
        ("judged", {}, None),
        ("reviewed", {"author_is_reviewer": True}, None),
        ("reviewed", {"review": "approved", "reviewed_by": "rui"}, None),
        ("reviewed", {"review": "approved", "reviewed_by": "ana"}, "awaiting review"),  # never one's own
        ("reviewed", {"review": "rejected", "reviewed_by": "rui", "author_is_reviewer": True}, "rejected by reviewer"),
        ("judged", {"review": "rejected", "reviewed_by": "rui"}, "rejected by reviewer"),
        ("judged", {"preferred_score": 5.0}, "judge disagreed"),
        ("reviewed", {"author_is_reviewer": True, "preferred_score": 4.0}, "judge disagreed"),
        ("judged", {"original_score": None}, "awaiting judge"),
    ],
)
def test_a_correction_trains_only_when_earned(policy, facts, reason):
    assert training_exclusion(policy, earned(**facts)) == reason


class Rows:
    def __init__(self, rows: list[FailedReply]) -> None:
        self.rows = rows
        self.asked: list[str | None] = []

    def failed(self, start: date, end: date, version: str | None = None):
        self.asked.append(version)
        yield from self.rows


def row(n: int, topic: str, **fields) -> FailedReply:
    values = {
        "interaction_id": f"{topic[:3]}{n}",
        "message": f"Hi, I'm Maria Lopez, question {n} about {topic}",
        "ai_reply": "See FAQ.",
        "agent_reply": f"Done {n}, Maria.",
        "corrected_reply": None,
        "failure_category": "c",
        "explanation": None,
        "score_gain": None,
        "topic": topic,
        "version": "external",
    }
    return FailedReply(**{**values, **fields})


def test_the_export_selects_topics_from_every_source_and_accounts_for_every_verdict(tmp_path):
    rows = [row(n, "shipping", version="v1" if n % 2 else "external") for n in range(40)]
    rows += [row(n, "billing") for n in range(5)]  # 5 not-useful verdicts: not more than 5, not selected
    rows += [
        row(
            0,
            "shipping",
            interaction_id="dup",
            message="Hi, I'm Tom Becker, question 1 about shipping",
            agent_reply="Done 1, Tom.",
        ),
        row(0, "shipping", interaction_id="none", agent_reply=None),
        row(0, "shipping", interaction_id="same", agent_reply="See FAQ."),
        row(0, "shipping", interaction_id="unearned", excluded_reason="awaiting review"),
        row(0, "shipping", interaction_id="judged", excluded_reason="judge disagreed"),
    ]
    source = Rows(rows)
    options = ExportOptions(holdout_share=0.25)
    result = export_training_data(
        source, PROMPT, DirectoryOutputs(tmp_path), options, redactor=redact, run_id="r", now=NOW
    )
    assert source.asked == [None]  # every source, no version filter
    assert result.topics == {"shipping": 45}
    assert result.excluded["topic not selected"] == 5
    assert result.excluded["awaiting review"] == 1 and result.excluded["judge disagreed"] == 1
    assert result.excluded["no agent or corrected reply"] == 1
    assert result.excluded["preferred reply equals the AI reply"] == 1
    assert result.excluded["duplicate"] == 1
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    accounting = manifest["accounting"]
    assert accounting["verdicts"] == 50 == accounting["exported"] + accounting["heldOut"] + accounting["excluded"]
    assert manifest["selection"]["notUsefulByTopic"] == {"billing": 5, "shipping": 45}
    assert result.held_out > 0 and len(result.eval_cases) == result.held_out
    lines = (tmp_path / "train.jsonl").read_text().splitlines()
    assert "Maria" not in "".join(lines) and len(lines) == result.counts["train.jsonl"]
    assert result.redacted["name"] >= 60  # the message's name, and the same first name in the agent's reply


def user_messages(path) -> list[str]:
    if not path.exists():
        return []
    return [
        next(m["content"] for m in json.loads(line)["messages"] if m["role"] == "user")
        for line in path.read_text().splitlines()
    ]


def test_no_evaluation_case_shares_an_id_or_a_message_with_training_lines_or_exemplars(tmp_path):
    """The gate's cases are the held-out split: disjoint by interaction id and by message digest from the
    training and validation lines, the DPO pairs, and the exemplars the prompt trainer compiles."""
    rows = [row(n % 60, "shipping", interaction_id=f"i{n}") for n in range(200)]  # repeated messages too
    result = export_training_data(
        Rows(rows), PROMPT, DirectoryOutputs(tmp_path), ExportOptions(), redactor=redact, run_id="r", now=NOW
    )
    eval_ids = set(result.eval_case_ids)
    eval_digests = {case["digest"] for case in result.eval_cases}
    assert eval_ids and len(eval_digests) == len(eval_ids)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    trained_ids = {i for ids in manifest["provenance"].values() for i in ids}
    assert not eval_ids & trained_ids
    trained = [m for name in ("train.jsonl", "validation.jsonl") for m in user_messages(tmp_path / name)]
    assert trained and not eval_digests & {message_digest(m) for m in trained}
    exemplars = compile_prompt("Base.", (), result.material).exemplars
    assert exemplars and not eval_digests & {message_digest(e.message) for e in exemplars}


@pytest.mark.parametrize(("min_examples", "enough"), [(5, True), (10, False)])
def test_enough_means_the_exports_own_minimum(tmp_path, min_examples, enough):
    rows = [row(n, "t", message=f"question {n}", agent_reply=f"Done {n}.") for n in range(7)]
    options = ExportOptions(min_examples=min_examples, validation_share=0.0, holdout_share=0.0)
    result = export_training_data(
        Rows(rows), PROMPT, DirectoryOutputs(tmp_path), options, redactor=redact, run_id="r", now=NOW
    )
    assert result.counts["train.jsonl"] == 7
    assert result.enough is enough


def test_failures_after_the_export_join_the_evaluation_only_from_the_held_out_split():
    from replyloop.services.export import late_evaluation_cases

    rows = [row(n, "shipping", interaction_id=f"late{n}", message=f"Parcel {n} lost") for n in range(120)]
    rows.append(
        row(0, "shipping", interaction_id="unearned", message="Parcel 0 lost", excluded_reason="awaiting review")
    )
    options = ExportOptions()
    first = split_of("Parcel 0 lost", options.validation_share, options.holdout_share)
    known = {message_digest("Parcel 1 lost")}
    cases = late_evaluation_cases(rows, redact, options, known=known, limit=100)
    ids = [case["interactionId"] for case in cases]
    expected = [
        f"late{n}"
        for n in range(120)
        if split_of(f"Parcel {n} lost", options.validation_share, options.holdout_share) == "holdout" and n != 1
    ]
    assert ids == expected and 10 < len(ids) < 60  # about a quarter of the messages
    assert "unearned" not in ids and ("late0" in ids) == (first == "holdout")
    assert late_evaluation_cases(rows, redact, options, known=known, limit=3) == cases[:3]
