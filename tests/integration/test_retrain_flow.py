"""The weekly retrain: the real ASL run by moto, its tasks our handler in-process, every branch."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from replyloop.caches import clear_all
from replyloop.domain.training import validate_dpo, validate_sft
from replyloop.local.gateway import FunctionRunner
from replyloop.local.provision import provision
from replyloop.local.seed import FIRST, LAST, generate, version_setup
from replyloop.local.stack import MOTO_CONFIG
from replyloop.local.statemachines import lambda_seam
from tests.conftest import TEMPLATE
from tests.helpers import ApiResult, call, http_event

FAST = {"pollSeconds": 1, "evalCases": 12}


@pytest.fixture(scope="module")
def flow():
    """One stack for the module, seeded once (moto makes seeding slow); each test reads its own run."""
    with mock_aws(config=MOTO_CONFIG), pytest.MonkeyPatch.context() as patch:
        provisioned = provision(TEMPLATE, boto3.Session(region_name="us-east-1"))
        for key, value in provisioned.shared_environment().items():
            patch.setenv(key, value)
        clear_all()
        runner = FunctionRunner(provisioned.functions)
        RUNNER[:] = [runner]
        with lambda_seam(provisioned.lambda_names, runner.invoke):
            seed()
            yield provisioned
        RUNNER.clear()
        clear_all()


RUNNER: list[FunctionRunner] = []


def admin(method: str, path: str, **kwargs: Any) -> ApiResult:
    """Through the function runner, as API Gateway would: the state machine's tasks run in the same
    runner at the same time, and it keeps each instance's modules to itself."""
    (runner,) = RUNNER
    event = http_event(method, path, groups="[admin]", **kwargs)
    return call(lambda event, _: runner.invoke("ApiFunction", event), event)


def seed(count: int = 240) -> None:
    """What `replyloop dev seed` loads: versions v2 and v3 (v3 left active) and their history."""
    for step in version_setup(11):
        prompt = admin("POST", "/api/prompts/reply/versions", body=step["prompt"]).body
        body = {"versionTag": step["tag"], "promptVersion": prompt["version"], "description": step["description"]}
        assert admin("POST", "/api/versions", body=body).status == 201
        assert admin("POST", f"/api/versions/{step['tag']}/activate").status == 200
    for item in generate(count=count, days=20, seed=11):
        assert admin("POST", item["path"], body=item["body"]).status in (200, 201), item


def run(options: dict[str, Any] | None = None, timeout: float = 90) -> dict[str, Any]:
    started = admin("POST", "/api/retrain-runs", body={**FAST, **(options or {})})
    assert started.status == 202, started.body
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = admin("GET", started.body["statusUrl"]).body
        if view["status"] != "running":
            return view
        time.sleep(0.2)
    raise AssertionError(f"the run did not finish: {view}")


def s3_lines(flow, run_id: str, name: str) -> list[Any]:
    body = boto3.client("s3").get_object(Bucket=flow.buckets["TrainingBucket"], Key=f"retrain/{run_id}/{name}")["Body"]
    text = body.read().decode()
    return [json.loads(line) for line in text.splitlines()] if name.endswith(".jsonl") else json.loads(text)


def test_with_too_few_failed_replies_the_run_is_skipped_with_the_reason(flow):
    view = run({"minNotUseful": 1_000_000})  # no version has that many: nothing is selected
    assert view["status"] == "skipped"
    assert "Not enough training examples: 0" in view["reason"]
    assert list(view["steps"]) == ["begin", "export", "skip"]
    assert view["candidateVersion"] is None


def test_a_candidate_that_wins_is_promoted_and_drafts_better(flow):
    assert admin("POST", "/api/versions/v1/activate").status == 200  # the weak first version serves
    view = run({"minNotUseful": 0})
    assert view["status"] == "promoted", view
    run_id, candidate = view["runId"], view["candidateVersion"]
    assert list(view["steps"]) == ["begin", "export", "train", "register", "evaluate", "promote"]

    # The export: valid OpenAI lines, no personal data from the seeded messages, provenance per line.
    train = s3_lines(flow, run_id, "train.jsonl")
    validation = s3_lines(flow, run_id, "validation.jsonl")
    manifest = s3_lines(flow, run_id, "manifest.json")
    assert len(train) >= 10 and all(validate_sft(line) is None for line in train)
    assert all(validate_dpo(line) is None for line in s3_lines(flow, run_id, "dpo_train.jsonl"))
    assert manifest["counts"]["train.jsonl"] == len(train)
    assert len(manifest["provenance"]["train.jsonl"]) == len(train)
    assert not set(manifest["provenance"]["train.jsonl"]) & set(manifest["provenance"]["validation.jsonl"])
    assert manifest["redacted"]["email"] > 0 and manifest["redacted"]["name"] > 0
    text = json.dumps(train + validation)
    assert "@example.com" not in text and "4111 1111 1111 1111" not in text and "DE89 3704" not in text
    assert not [f"{first} {last}" for first in FIRST for last in LAST if f"{first} {last}" in text]

    # The candidate serves now, with a retrained prompt; the evaluation is a stress-test log.
    versions = {v["versionTag"]: v for v in admin("GET", "/api/versions").body["items"]}
    assert versions[candidate]["status"] == "active" and versions[candidate]["trainer"] == "prompt"
    assert versions["v1"]["status"] == "frozen"
    evaluation = admin("GET", f"/api/stress-tests/{run_id}").body
    summary = evaluation["summary"]
    assert summary["cases"] >= 1
    assert summary["candidateMean"] > summary["baselineMean"]
    prompts = admin("GET", "/api/prompts/reply/versions").body["items"]
    prompt = next(p for p in prompts if p["version"] == versions[candidate]["promptVersion"])
    assert "Lessons from agents' corrections:" in prompt["text"] and prompt["exemplars"]
    assert f"Retrain run {run_id}." in prompt["improvementNotes"]


def active_tag() -> str:
    (active,) = [v["versionTag"] for v in admin("GET", "/api/versions").body["items"] if v["status"] == "active"]
    return str(active)


def test_a_candidate_that_does_not_win_by_the_margin_is_not_promoted(flow):
    before = active_tag()
    view = run({"minNotUseful": 0, "margin": 10})
    assert view["status"] == "not_promoted", view
    assert "did not win by the margin 10" in view["reason"]
    assert active_tag() == before
    assert view["candidateVersion"] and view["steps"]["promote"]["outcome"] == "not_promoted"
    candidate = next(
        v for v in admin("GET", "/api/versions").body["items"] if v["versionTag"] == view["candidateVersion"]
    )
    assert candidate["status"] == "candidate"


def test_a_trainer_that_raises_fails_the_run_with_its_error(flow, monkeypatch):
    from replyloop.adapters.trainers import PromptTrainer, TrainerError

    def broken(self, context):
        raise TrainerError("the trainer is out of order")

    # Patched on the adapter, which every instance of the retrain function shares (the local stack
    # imports `replyloop.handlers.*` afresh per concurrent instance, so a patch there may not be seen).
    monkeypatch.setattr(PromptTrainer, "start", broken)
    view = run({"minNotUseful": 0})
    assert view["status"] == "failed"
    assert view["reason"] == "TrainerError: the trainer is out of order"
    assert view["steps"]["fail"]["error"] == "TrainerError"
    assert view["candidateVersion"] is None


def test_a_fine_tuning_job_that_fails_fails_the_run(flow):
    # The offline model only fine-tunes chat files; a preference (DPO) file is refused during validation.
    view = run({"minNotUseful": 0, "trainer": "openai", "fineTuneMethod": "dpo"})
    assert view["status"] == "failed", view
    assert view["reason"].startswith("TrainingFailedError: Fine-tuning job ftjob-offline-")
    assert "is not a JSON object with 'messages'" in view["reason"]
    assert view["steps"]["train"]["outcome"] == "failed"


def test_training_that_outlasts_its_polls_times_out(flow):
    view = run({"minNotUseful": 0, "trainer": "openai", "maxPolls": 1})
    assert view["status"] == "failed"
    assert view["reason"].startswith("TrainingTimeoutError: Training did not finish after 1 polls")


def test_a_fine_tuned_candidate_is_registered_with_its_job(flow):
    view = run({"minNotUseful": 0, "trainer": "openai"})
    assert view["status"] in ("promoted", "not_promoted"), view
    train = view["steps"]["train"]
    assert train["outcome"] == "succeeded" and train["fineTuneId"].startswith("ftjob-offline-")
    version = next(
        v for v in admin("GET", "/api/versions").body["items"] if v["versionTag"] == view["candidateVersion"]
    )
    assert version["model"].startswith("ft:gpt-4o-mini:replyloop:offline:")  # the base is the active model
    assert version["trainer"] == "openai"
    assert version["fineTuneId"] == train["fineTuneId"]


def test_runs_are_admin_only_and_listed_newest_first(flow):
    (runner,) = RUNNER
    event = http_event("POST", "/api/retrain-runs", body={}, groups="[agent]")
    refused = call(lambda event, _: runner.invoke("ApiFunction", event), event)
    assert refused.status == 403
    assert admin("POST", "/api/retrain-runs", body={"trainer": "magic"}).status == 422
    first, second = run({"minNotUseful": 1_000_000}), run({"minNotUseful": 1_000_000})
    listed = [item["runId"] for item in admin("GET", "/api/retrain-runs").body["items"]]
    assert listed[:2] == [second["runId"], first["runId"]]
    assert admin("GET", "/api/retrain-runs/nope").status == 404
