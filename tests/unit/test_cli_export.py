"""`replyloop export --format bedrock`: the command, end to end against an in-memory HTTP API."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from click.testing import CliRunner

from replyloop.cli import main
from replyloop.domain.bedrock import validate_bedrock
from replyloop.domain.training import validate_sft

ROWS = 30


def interaction(n: int) -> dict[str, Any]:
    return {
        "interactionId": f"i{n}",
        "message": f"Parcel {n} has not arrived after two weeks",
        "aiReply": "Please check our FAQ.",
        "agentReply": f"I have re-sent parcel {n} by express; tracking follows today.",
        "feedback": {"revision": 1, "submittedBy": "ana", "byReviewer": True},
        "judgeScores": {"original": {"overall": 2.0}, "agent": {"overall": 4.5}},
        "topic": "shipping",
        "assistantVersion": "v2",
    }


class InMemoryApi:
    """The routes the export reads, answering like the api function."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url

    def get(self, path: str, **params: Any) -> Any:
        if path == "/api/versions":
            return {"items": [{"versionTag": "v2", "status": "active", "promptName": "reply", "promptVersion": 1}]}
        if path == "/api/prompts/reply/versions":
            return {"items": [{"name": "reply", "version": 1, "text": "You are a support assistant."}]}
        if path == "/api/feedback/analytics":
            return {"notUsefulCount": ROWS}
        if path == "/api/feedback/replay":
            return {"items": [{"interactionId": f"i{n}"} for n in range(ROWS)], "nextCursor": None}
        if path.startswith("/api/interactions/"):
            return interaction(int(path.rsplit("/i", 1)[1]))
        raise AssertionError(f"unexpected GET {path}")


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> None:
    module = sys.modules["replyloop.cli.export"]  # `replyloop.cli.export` the attribute is the command
    monkeypatch.setattr(module, "ApiClient", InMemoryApi)
    monkeypatch.setattr(module, "resolve_token", lambda url, token: "token")


def export(tmp_path, *extra: str) -> Any:
    arguments = ["export", "--url", "http://stack.invalid", "--out", str(tmp_path), "--min-not-useful", "0"]
    return CliRunner().invoke(main, [*arguments, *extra])


def lines(path) -> list[dict[str, Any]]:
    return [json.loads(text) for text in path.read_text().splitlines()]


def test_format_bedrock_writes_valid_bedrock_conversation_lines(api, tmp_path):
    done = export(tmp_path, "--format", "bedrock")
    assert done.exit_code == 0, done.output
    assert "Format: bedrock (bedrock-conversation-2024)" in done.output
    written = lines(tmp_path / "train.jsonl") + lines(tmp_path / "validation.jsonl")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["format"] == "bedrock"
    assert len(written) == manifest["accounting"]["exported"] >= 10
    assert all(validate_bedrock(line) is None for line in written)
    assert not list(tmp_path.glob("dpo_*.jsonl"))


def test_the_default_format_is_openai_chat_lines(api, tmp_path):
    done = export(tmp_path)
    assert done.exit_code == 0, done.output
    written = lines(tmp_path / "train.jsonl")
    assert written and all(validate_sft(line) is None for line in written)
    assert (tmp_path / "dpo_train.jsonl").exists()


def test_an_unknown_format_is_refused(api, tmp_path):
    done = export(tmp_path, "--format", "anthropic")
    assert done.exit_code == 2 and "Invalid value for '--format'" in done.output
