"""Training data and the retrain's pure rules: OpenAI line validation, split, dedupe, compile, promote."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from replyloop.adapters.redaction import redact
from replyloop.domain.prompts import Exemplar, PromptVersion
from replyloop.domain.retrain import LESSONS_HEADING, PromptMaterial, compile_prompt, decide
from replyloop.domain.stress import CaseResult, summarise
from replyloop.domain.training import (
    FailedReply,
    dedupe_key,
    dpo_example,
    sft_example,
    split_of,
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


@pytest.mark.parametrize(
    ("cases", "promote", "says"),
    [
        ([case(5, 7, n) for n in range(4)], True, "won by 2.0"),
        ([case(5, 5.3, n) for n in range(4)], False, "did not win by the margin 0.5"),
        ([case(5, 9, 0), case(5, 9, 1), case(6, 3, 2), case(6, 3, 3)], False, "lost on 50% of queries"),
        ([], False, "No evaluation cases"),
    ],
)
def test_promotion_needs_the_margin_and_few_losses(cases, promote, says):
    decision = decide(summarise(cases), margin=0.5, max_loss_share=0.3)
    assert decision.promote is promote
    assert says in decision.reason


class Rows:
    def __init__(self, by_version: dict[str, int], rows: list[FailedReply]) -> None:
        self.by_version, self.rows = by_version, rows
        self.asked: list[list[str]] = []

    def not_useful_by_version(self, start: date, end: date) -> dict[str, int]:
        return self.by_version

    def failed(self, versions: list[str], start: date, end: date):
        self.asked.append(versions)
        yield from self.rows


def test_the_export_selects_versions_excludes_with_reasons_and_writes_provenance(tmp_path):
    rows = [
        FailedReply(
            f"i{n}", f"Hi, I'm Maria Lopez, question {n}", "See FAQ.", f"Done {n}, Maria.", None, "c", None, None
        )
        for n in range(30)
    ]
    rows += [
        FailedReply("dup", "Hi, I'm Tom Becker, question 0", "See FAQ.", "Done 0, Tom.", None, "c", None, None),
        FailedReply("none", "question x", "See FAQ.", None, None, None, None, None),
        FailedReply("same", "question y", "See FAQ.", "See FAQ.", None, None, None, None),
    ]
    source = Rows({"v1": 6, "v2": 5}, rows)
    result = export_training_data(
        source, PROMPT, DirectoryOutputs(tmp_path), ExportOptions(), redactor=redact, run_id="r", now=NOW
    )
    assert source.asked == [["v1"]]  # more than 5 not-useful verdicts: v1 only
    assert result.excluded == {
        "duplicate": 1,
        "no agent or corrected reply": 1,
        "preferred reply equals the AI reply": 1,
    }
    assert result.redacted["name"] >= 60  # the message's name, and the same first name in the agent's reply
    lines = (tmp_path / "train.jsonl").read_text().splitlines()
    assert "Maria" not in "".join(lines) and len(lines) == result.counts["train.jsonl"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    ids = manifest["provenance"]["train.jsonl"] + manifest["provenance"].get("validation.jsonl", [])
    assert sorted(ids) == sorted(f"i{n}" for n in range(30))
    assert manifest["counts"]["train.jsonl"] + manifest["counts"]["validation.jsonl"] == 30 == result.examples
    held_out = manifest["provenance"].get("validation.jsonl", [])
    assert result.eval_case_ids[: len(held_out)] == held_out[:20]  # held-out queries are evaluated first


@pytest.mark.parametrize(("min_examples", "enough"), [(5, True), (10, False)])
def test_enough_means_the_exports_own_minimum(tmp_path, min_examples, enough):
    rows = [FailedReply(f"i{n}", f"question {n}", "See FAQ.", f"Done {n}.", None, "c", None, None) for n in range(7)]
    options = ExportOptions(min_examples=min_examples, validation_share=0.0)
    result = export_training_data(
        Rows({"v1": 6}, rows), PROMPT, DirectoryOutputs(tmp_path), options, redactor=redact, run_id="r", now=NOW
    )
    assert result.counts["train.jsonl"] == 7
    assert result.enough is enough
