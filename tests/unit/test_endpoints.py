"""The pure rules behind named endpoints: refusals classified, reasons worded, shutdowns looked up, RFT lines."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from replyloop.domain.endpoints import Refusal, base_model_of, classify_refusal, refusal_reason, shutdown_of
from replyloop.domain.prompts import PromptVersion
from replyloop.domain.reinforcement import judge_grader, rft_example, validate_rft

SHUTDOWNS = {"gpt-4o": date(2027, 1, 14), "gpt-4.1": date(2027, 1, 14), "gpt-4o-mini": date(2027, 6, 1)}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o-2024-08-06", date(2027, 1, 14)),
        ("gpt-4o", date(2027, 1, 14)),
        ("gpt-4o-mini-2024-07-18", date(2027, 6, 1)),  # the longest family wins
        ("ft:gpt-4.1-2025-04-14:acme:replyloop:abc", date(2027, 1, 14)),  # a fine-tune stops with its base
        ("gpt-4oo", None),  # a prefix only counts before "-"
        ("openai.gpt-oss-20b", None),
    ],
)
def test_a_models_shutdown_is_its_base_familys(model, expected):
    assert shutdown_of(model, SHUTDOWNS) == expected


def test_the_base_of_a_fine_tune_is_its_second_field():
    assert base_model_of("ft:gpt-4o-mini-2024-07-18:org::9x") == "gpt-4o-mini-2024-07-18"
    assert base_model_of("llama-3-8b") == "llama-3-8b"


@pytest.mark.parametrize(
    ("status", "code", "message", "kind"),
    [
        (429, "insufficient_quota", "You exceeded your current quota.", "quota"),
        (403, None, "Fine-tuning is no longer available to new jobs.", "deprecated"),
        (400, "model_deprecated", "Bad model.", "deprecated"),
        (400, "model_not_available", "x", "unsupported model"),
        (404, None, "No such model.", "unsupported model"),
        (400, None, "This model is not supported for fine-tuning.", "unsupported model"),
        (400, "invalid_training_file", "Bad file.", "refused"),
        (401, "invalid_api_key", "Incorrect API key.", "refused"),
    ],
)
def test_a_refusal_for_good_is_classified(status, code, message, kind):
    refusal = classify_refusal(status, code, message)
    assert refusal is not None and refusal.kind == kind


@pytest.mark.parametrize(("status", "code"), [(429, "rate_limit_exceeded"), (500, None), (503, None), (None, None)])
def test_throttling_and_outages_are_not_refusals(status, code):
    assert classify_refusal(status, code, "try later") is None


def test_the_reason_says_who_why_what_they_said_and_what_next():
    reason = refusal_reason(
        Refusal("quota", "You exceeded your current quota."),
        endpoint="openai",
        trainers=["prompt"],
        endpoints=["openai", "bedrock", "lab"],
    )
    assert reason == (
        "The openai endpoint has no quota left for this job: You exceeded your current quota. "
        "Use trainer prompt or the bedrock or lab endpoints instead."
    )
    alone = refusal_reason(Refusal("refused", ""), endpoint="openai", trainers=[], endpoints=["openai"])
    assert alone == "The openai endpoint refused the job."


def test_an_rft_line_ends_with_the_customers_message_and_carries_the_graders_fields():
    prompt = PromptVersion("reply", 1, "You are a support assistant.", datetime(2026, 12, 6, tzinfo=UTC))
    line = rft_example(prompt, "Where is my parcel?", "It ships today.")
    assert validate_rft(line) is None
    assert [m["role"] for m in line["messages"]] == ["system", "user"]
    assert line["reference_reply"] == "It ships today." and line["customer_message"] == "Where is my parcel?"
    with_answer = {**line, "messages": [*line["messages"], {"role": "assistant", "content": "x"}]}
    assert validate_rft(with_answer) == "the last message is not the user's"
    assert validate_rft({**line, "reference_reply": " "}) == "reference_reply is empty"
    assert validate_rft({"messages": line["messages"]}) is not None


def test_the_grader_is_the_judges_rubric_on_the_sampled_reply_against_the_reference():
    grader = judge_grader("gpt-4o-mini")
    assert grader["type"] == "score_model" and grader["model"] == "gpt-4o-mini" and grader["range"] == [1.0, 10.0]
    system, user = grader["input"]
    assert "strict judge" in system["content"] and system["content"].endswith("one number from 1 to 10.")
    for field in ("{{item.customer_message}}", "{{sample.output_text}}", "{{item.reference_reply}}"):
        assert field in user["content"]
