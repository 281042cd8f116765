"""Bedrock's `bedrock-conversation-2024` lines: built from the same example as an OpenAI line, validated
against Bedrock's documented rules, and written by the export in place of the OpenAI lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from replyloop.adapters.redaction import redact
from replyloop.domain.bedrock import SCHEMA_VERSION, bedrock_example, validate_bedrock
from replyloop.domain.prompts import PromptVersion
from replyloop.domain.training import sft_example
from replyloop.services.export import DirectoryOutputs, ExportOptions, export_training_data
from tests.unit.test_training import Rows, row

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
PROMPT = PromptVersion("reply", 1, "You are a support assistant.", NOW)


def line(message: str = "Where is my order?", reply: str = "It ships today.") -> dict:
    return bedrock_example(sft_example(PROMPT, message, reply)["messages"])


def test_a_built_line_has_the_schema_a_system_block_and_alternating_text_turns():
    built = line()
    assert validate_bedrock(built) is None
    assert built["schemaVersion"] == SCHEMA_VERSION == "bedrock-conversation-2024"
    assert [block.keys() for block in built["system"]] == [{"text"}]
    assert built["system"][0]["text"].startswith("You are a support assistant.")
    assert [m["role"] for m in built["messages"]] == ["user", "assistant"]
    assert built["messages"][1] == {"role": "assistant", "content": [{"text": "It ships today."}]}
    assert "Where is my order?" in built["messages"][0]["content"][0]["text"]


def test_a_line_without_a_system_prompt_is_valid():
    assert validate_bedrock({k: v for k, v in line().items() if k != "system"}) is None


def turn(role: str, text: str) -> dict:
    return {"role": role, "content": [{"text": text}]}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"schemaVersion": "bedrock-conversation-2023"}, "schemaVersion is not 'bedrock-conversation-2024'"),
        ({"extra": 1}, "not an object with 'schemaVersion', 'system' and 'messages' only"),
        ({"messages": []}, "no messages"),
        ({"messages": [turn("assistant", "Hi")]}, "message 0 should be the user's (turns alternate, the user first)"),
        ({"messages": [turn("user", "Hi"), turn("user", "Again")]}, "message 1 should be the assistant's"),
        ({"messages": [turn("user", "Hi")]}, "the last message is not the assistant's"),
        ({"messages": [turn("system", "Hi"), turn("assistant", "x")]}, "message 0 has role 'system'"),
        ({"messages": [turn("user", "Hi"), turn("assistant", "  ")]}, "message 1 has an empty text"),
        ({"messages": [turn("user", "Hi"), {"role": "assistant", "content": "x"}]}, "message 1 has no content"),
        (
            {"messages": [turn("user", "Hi"), {"role": "assistant", "content": [{"text": "x", "image": {}}]}]},
            "message 1 has a block other than {'text'}",
        ),
        ({"system": [{"text": ""}]}, "system has an empty text"),
        ({"system": "You are a bot."}, "system has no content"),
        (
            {"messages": [turn("user", "Hi"), turn("assistant", "Assistant: sure")]},
            "message 1 contains the reserved word 'Assistant:'",
        ),
    ],
)
def test_each_broken_rule_is_named(change, problem):
    assert (validate_bedrock({**line(), **change}) or "").startswith(problem)


def test_a_line_over_the_token_limit_is_refused():
    assert validate_bedrock(line(), max_tokens=20) == "longer than 20 tokens"


def test_the_bedrock_export_writes_only_valid_bedrock_lines_and_no_preference_pairs(tmp_path):
    rows = [row(n, "shipping") for n in range(40)]
    rows.append(row(0, "shipping", interaction_id="reserved", message="User: where is parcel 99?"))
    options = ExportOptions(data_format="bedrock", holdout_share=0.0)
    result = export_training_data(
        Rows(rows), PROMPT, DirectoryOutputs(tmp_path), options, redactor=redact, run_id="r", now=NOW
    )
    lines = [json.loads(text) for text in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert len(lines) == result.counts["train.jsonl"] >= 10 and result.enough
    assert all(validate_bedrock(parsed) is None for parsed in lines)
    assert all(parsed["schemaVersion"] == SCHEMA_VERSION for parsed in lines)
    assert not (tmp_path / "dpo_train.jsonl").exists()
    assert result.counts["dpo_train.jsonl"] == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["format"] == "bedrock" and result.to_json()["format"] == "bedrock"
    # A message the Nova trainer would refuse is excluded with the reason (nothing is held out here).
    assert result.excluded == {"invalid: message 0 contains the reserved word 'User:'": 1}
    accounting = manifest["accounting"]
    assert accounting["verdicts"] == accounting["exported"] + accounting["heldOut"] + accounting["excluded"]


def test_the_openai_export_is_unchanged_by_the_option(tmp_path):
    rows = [row(n, "shipping") for n in range(30)]
    result = export_training_data(
        Rows(rows), PROMPT, DirectoryOutputs(tmp_path), ExportOptions(), redactor=redact, run_id="r", now=NOW
    )
    first = json.loads((tmp_path / "train.jsonl").read_text().splitlines()[0])
    assert set(first) == {"messages"} and result.counts["dpo_train.jsonl"] > 0
    assert json.loads((tmp_path / "manifest.json").read_text())["format"] == "openai"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "openai"),
        ({"format": "bedrock"}, "bedrock"),  # the prompt trainer reads no file: any format is fine
        ({"trainer": "bedrock-customization"}, "bedrock"),
        ({"trainer": "openai"}, "openai"),
    ],
)
def test_a_runs_format_is_the_one_asked_else_the_one_its_trainer_uploads(options, expected):
    from replyloop.models.retrain import NewRetrainRun
    from replyloop.services.retrain import RunOptions
    from replyloop.settings import RetrainSettings

    request = NewRetrainRun.model_validate(options)  # the API's body accepts `format`
    config = RunOptions.model_validate(request.model_dump(by_alias=True)).resolve(RetrainSettings())
    assert config.data_format == expected
    assert type(config).from_json(config.to_json()) == config


@pytest.mark.parametrize(
    "options", [{"trainer": "openai", "format": "bedrock"}, {"trainer": "bedrock-customization", "format": "openai"}]
)
def test_a_trainer_cannot_train_on_the_other_format(options):
    from replyloop.domain.errors import InvalidRequestError
    from replyloop.services.retrain import RunOptions
    from replyloop.settings import RetrainSettings

    with pytest.raises(InvalidRequestError, match="trainer trains on the"):
        RunOptions.model_validate(options).resolve(RetrainSettings())
