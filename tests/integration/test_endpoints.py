"""Named endpoints: a version drafts on its own endpoint with that endpoint's key; a provider that refuses
new fine-tuning jobs fails the trainer with the reason in words and what to use next (the openai SDK's real
error types, from a stand-in provider on loopback)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import openai
import pytest

from replyloop.adapters.trainers import OpenAITrainer
from replyloop.caches import clear_all
from replyloop.domain.errors import LlmUnavailableError
from replyloop.domain.prompts import PromptVersion
from replyloop.domain.retrain import PromptMaterial
from replyloop.domain.runs import TrainerError, TrainingContext
from replyloop.domain.versions import AssistantVersion, VersionStatus
from tests.fake_provider import fake_provider

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


class Files:
    """The training bucket, as the trainer reads it (download_fileobj)."""

    def download_fileobj(self, Bucket: str, Key: str, Fileobj: Any) -> None:
        Fileobj.write(b'{"messages": []}\n')


def context() -> TrainingContext:
    active = AssistantVersion("v1", "gpt-4o-mini-2024-07-18", "reply", 1, VersionStatus.ACTIVE, NOW)
    files = {name: f"s3://training/retrain/r1/{name}" for name in ("train.jsonl", "rft_train.jsonl")}
    return TrainingContext("r1", active, PromptVersion("reply", 1, "Be kind.", NOW), PromptMaterial(), files, NOW)


def trainer(url: str, method: Any = "sft") -> OpenAITrainer:
    client = openai.OpenAI(api_key="sk-test", base_url=url, max_retries=0)
    return OpenAITrainer(
        client, Files(), method=method, base_model=None, endpoint="openai", endpoints=("openai", "bedrock")
    )


def error(status: int, code: str | None, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


@pytest.mark.parametrize(
    ("refusal", "says"),
    [
        (
            error(403, "fine_tuning_unavailable", "Fine-tuning is no longer available for new jobs (deprecated)."),
            "The openai endpoint no longer takes new fine-tuning jobs (deprecation): Fine-tuning is no longer "
            "available for new jobs (deprecated). Use trainer gepa or trainer compile or the bedrock endpoint instead.",
        ),
        (
            error(429, "insufficient_quota", "You exceeded your current quota."),
            "The openai endpoint has no quota left for this job: You exceeded your current quota.",
        ),
        (
            error(400, "model_not_available", "Model gpt-4o-mini-2024-07-18 is not available for fine-tuning."),
            "The openai endpoint does not fine-tune this model: Model gpt-4o-mini-2024-07-18 is not available",
        ),
        (error(404, "model_not_found", "The model does not exist."), "does not fine-tune this model"),
        (error(400, "invalid_training_file", "Bad file."), "The openai endpoint refused the job: Bad file."),
    ],
)
def test_a_provider_that_refuses_new_jobs_fails_the_trainer_with_the_reason_and_what_next(refusal, says):
    with fake_provider() as provider:
        provider.refuse_jobs = refusal
        with pytest.raises(TrainerError) as refused:
            trainer(provider.url).start(context())
    assert says in str(refused.value)
    assert str(refused.value).endswith("Use trainer gepa or trainer compile or the bedrock endpoint instead.")


@pytest.mark.parametrize("refusal", [error(429, "rate_limit_exceeded", "Slow down."), error(503, None, "Busy.")])
def test_throttling_or_an_outage_is_retried_not_a_refusal(refusal):
    with fake_provider() as provider:
        provider.refuse_jobs = refusal
        with pytest.raises(LlmUnavailableError, match="busy or failing"):
            trainer(provider.url).start(context())


def test_reinforcement_fine_tuning_uploads_the_rft_lines_and_grades_with_the_judge():
    with fake_provider() as provider:
        state = trainer(provider.url, "reinforcement").start(context())
        (created,) = [r for r in provider.requests if r["method"] == "POST" and r["path"] == "/v1/fine_tuning/jobs"]
    assert state.status == "running" and state.endpoint == "openai"
    method = created["body"]["method"]
    assert method["type"] == "reinforcement"
    grader = method["reinforcement"]["grader"]
    assert grader["type"] == "score_model" and grader["range"] == [1.0, 10.0]
    assert grader["model"] == "gpt-4o-mini"
    text = json.dumps(grader["input"])
    assert "{{sample.output_text}}" in text and "{{item.reference_reply}}" in text
    assert created["body"]["metadata"] == {"replyloop_run": "r1"}


# -- a version drafts on its own endpoint --------------------------------------------------------------


def admin(api, method: str, path: str, **kwargs: Any):
    return api(method, path, groups="[admin]", **kwargs)


def test_a_version_drafts_on_its_endpoint_with_that_endpoints_key(api, monkeypatch):
    boto3.client("ssm").put_parameter(Name="/replyloop/lab-key", Value="lab-secret", Type="SecureString")
    with fake_provider() as provider:
        endpoints = {"lab": {"baseUrl": provider.url, "keyParameter": "/replyloop/lab-key"}}
        monkeypatch.setenv("LLM_ENDPOINTS", json.dumps(endpoints))
        monkeypatch.setenv("LLM_MAX_RETRIES", "0")
        clear_all()  # settings are read once per process
        try:
            offline = api("POST", "/api/replies", body={"message": "Where is my parcel?"})
            assert offline.status == 201 and provider.requests == []  # v1 stays on the default endpoint
            created = admin(
                api, "POST", "/api/versions", body={"versionTag": "lab1", "model": "lab-7b", "endpoint": "lab"}
            )
            assert created.status == 201 and created.body["endpoint"] == "lab"
            assert admin(api, "POST", "/api/versions/lab1/activate").status == 200
            drafted = api("POST", "/api/replies", body={"message": "Where is my parcel?"})
        finally:
            monkeypatch.undo()
            clear_all()
    assert drafted.status == 201, drafted.body
    assert drafted.body["assistantVersion"] == "lab1" and drafted.body["model"] == "lab-7b"
    assert drafted.body["reply"] == "Reply from lab-7b at the fake provider."
    chats = [r for r in provider.requests if r["path"] == "/v1/chat/completions"]
    assert chats and all(r["body"]["model"] == "lab-7b" for r in chats)
    assert {r["authorization"] for r in chats} == {"Bearer lab-secret"}
    assert offline.body["model"] == "replyloop-offline"


def test_a_version_on_an_endpoint_nobody_configured_is_refused(api):
    refused = admin(api, "POST", "/api/versions", body={"versionTag": "x1", "endpoint": "nowhere"})
    assert refused.status == 400
    assert "No endpoint 'nowhere' is configured" in json.dumps(refused.body)


def test_versions_show_their_endpoint_and_the_announced_shutdown_of_their_base_model(api):
    body = {"versionTag": "ft1", "model": "ft:gpt-4.1-2025-04-14:acme:replyloop:abc123"}
    assert admin(api, "POST", "/api/versions", body=body).status == 201
    assert admin(api, "POST", "/api/versions", body={"versionTag": "oss1", "model": "openai.gpt-oss-20b"}).status == 201
    items = {v["versionTag"]: v for v in admin(api, "GET", "/api/versions").body["items"]}
    assert items["ft1"]["baseModelShutdown"] == "2027-01-14" and items["ft1"]["endpoint"] == "openai"
    assert items["oss1"]["baseModelShutdown"] is None


def test_a_malformed_endpoint_table_stops_the_function_with_its_name(monkeypatch):
    from replyloop.settings import LlmSettings, SettingsError, load

    monkeypatch.setenv("LLM_ENDPOINTS", json.dumps({"lab": {"keyParameter": "/k"}}))
    clear_all()
    try:
        with pytest.raises(SettingsError, match="LLM_ENDPOINTS: 'lab' needs a baseUrl"):
            load(LlmSettings)
    finally:
        clear_all()


def test_bedrock_is_bedrocks_openai_compatible_endpoint_in_the_region():
    from replyloop.settings import LlmSettings

    settings = LlmSettings.model_validate(
        {
            "LLM_ENDPOINTS": json.dumps({"bedrock": {"keyParameter": "/replyloop/bedrock-key"}}),
            "AWS_REGION": "eu-west-1",
        }
    )
    bedrock = settings.endpoints["bedrock"]
    assert bedrock.base_url == "https://bedrock-mantle.eu-west-1.api.aws/v1"
    assert bedrock.key_parameter == "/replyloop/bedrock-key" and not bedrock.explicit_url
    assert set(settings.endpoints) == {"openai", "bedrock"}


def test_a_batch_stress_test_of_a_version_on_another_endpoint_is_refused(api, monkeypatch):
    monkeypatch.setenv("LLM_ENDPOINTS", json.dumps({"lab": {"baseUrl": "http://127.0.0.1:9/v1"}}))
    clear_all()
    try:
        body = {"versionTag": "lab2", "model": "lab-7b", "endpoint": "lab"}
        assert admin(api, "POST", "/api/versions", body=body).status == 201
        refused = admin(api, "POST", "/api/stress-tests", body={"candidate": "lab2", "mode": "batch"})
    finally:
        monkeypatch.undo()
        clear_all()
    assert refused.status == 400, refused.body
    assert "served from the lab endpoint; batch stress tests run on the openai endpoint" in json.dumps(refused.body)
