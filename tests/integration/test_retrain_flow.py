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
from replyloop.local.pollers import QueuePoller
from replyloop.local.provision import provision
from replyloop.local.seed import FIRST, LAST, generate, version_setup
from replyloop.local.stack import MOTO_CONFIG
from replyloop.local.statemachines import lambda_seam
from replyloop.operations.seed import SeedTally, review_history
from tests.conftest import TEMPLATE
from tests.helpers import ApiResult, call, http_event

# The seeded data holds a few dozen distinct held-out messages: the gate's minimum is lowered to fit, and
# most tests promote through the gate alone (the approval tests below use the default, `approve`). They
# train with `compile` (no model calls); the gepa tests at the end name their trainer.
FAST = {"pollSeconds": 1, "evalCases": 40, "minEvalCases": 5, "promotion": "auto", "trainer": "compile"}


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
            drain_learning_queues(provisioned, runner)
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
    # An import vouches for no correction: a reviewer approves most of them, as `replyloop dev seed` does.
    tally = SeedTally()
    review_history(Reviewer(), tally)
    assert tally.approved > 0 and tally.pending > 0


class Reviewer:
    """The `Api` the seed's review step talks to, as a reviewer who is not the importing admin."""

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        (runner,) = RUNNER
        event = http_event(method, path, groups="[reviewer]", username="flow-reviewer", **kwargs)
        result = call(lambda event, _: runner.invoke("ApiFunction", event), event)
        assert result.status == 200, result.body
        return result.body

    def get(self, path: str, **params: Any) -> Any:
        return self._send("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any) -> Any:
        return self._send("POST", path, body=body)


def drain_learning_queues(provisioned, runner: FunctionRunner) -> None:
    """The explain and correct workers handle every seeded verdict, as the local stack's pollers would:
    a correction trains only once the judge has scored it."""
    sqs = boto3.client("sqs")
    pollers = [
        QueuePoller(sqs, source, provisioned.queues[source.queue_logical_id], runner, wait_seconds=0)
        for source in provisioned.queue_sources
    ]
    idle_rounds = 0
    while idle_rounds < 2:  # the explain worker queues the correct job: empty twice in a row is done
        delivered = sum(poller.poll_once() for poller in pollers)
        idle_rounds = 0 if delivered else idle_rounds + 1


def wait_for(run_id: str, done: Any, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = admin("GET", f"/api/retrain-runs/{run_id}").body
        if done(view):
            return view
        time.sleep(0.2)
    raise AssertionError(f"the run did not get there: {view}")


def run(options: dict[str, Any] | None = None, timeout: float = 90) -> dict[str, Any]:
    """Start a run and wait until it ends or waits for a person."""
    started = admin("POST", "/api/retrain-runs", body={**FAST, **(options or {})})
    assert started.status == 202, started.body
    return wait_for(started.body["runId"], lambda view: view["status"] != "running", timeout)


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
    accounting = manifest["accounting"]
    assert accounting["verdicts"] == accounting["exported"] + accounting["heldOut"] + accounting["excluded"]
    assert accounting["verdicts"] >= 60  # every not-useful verdict of the window, frontends' included
    assert manifest["excluded"]["awaiting review"] > 0  # the corrections the reviewer left pending
    assert manifest["excluded"]["rejected by reviewer"] > 0

    served = admin("GET", f"/api/retrain-runs/{run_id}/manifest")
    assert served.status == 200 and served.body == manifest
    assert admin("GET", "/api/retrain-runs/nope/manifest").status == 404

    # The evidence: held-out cases only, never a training line's interaction or message.
    evidence = view["evaluation"]
    trained = {i for ids in manifest["provenance"].values() for i in ids}
    assert evidence["cases"] >= 5 and not set(evidence["caseIds"]) & trained
    assert set(evidence["caseIds"]) <= {case["interactionId"] for case in manifest["heldOut"]["cases"]}
    low, high = evidence["ci95"]
    assert 0 < low <= evidence["gain"] <= high
    assert evidence["candidateMean"] > evidence["incumbentMean"]
    text = json.dumps(train + validation)
    assert "@example.com" not in text and "4111 1111 1111 1111" not in text and "DE89 3704" not in text
    assert not [f"{first} {last}" for first in FIRST for last in LAST if f"{first} {last}" in text]

    # The candidate serves now, with a retrained prompt; the evaluation is a stress-test log.
    versions = {v["versionTag"]: v for v in admin("GET", "/api/versions").body["items"]}
    assert versions[candidate]["status"] == "active" and versions[candidate]["trainer"] == "compile"
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


def test_too_few_held_out_cases_is_insufficient_evidence_and_keeps_the_incumbent(flow):
    assert admin("POST", "/api/versions/v1/activate").status == 200
    view = run({"minNotUseful": 0, "minEvalCases": 200})
    assert view["status"] == "insufficient_evidence", view
    assert "held-out cases were scored (at least 200 needed)" in view["reason"]
    assert view["evaluation"]["cases"] < 200
    assert active_tag() == "v1"


def test_a_candidate_that_passed_waits_for_an_admin_who_approves_it(flow):
    assert admin("POST", "/api/versions/v1/activate").status == 200
    view = run({"minNotUseful": 0, "promotion": "approve"})
    assert view["status"] == "awaiting_approval", view
    run_id = view["runId"]
    assert view["steps"]["approval"]["outcome"] == "waiting" and view["evaluation"]["ci95"][0] > 0
    assert active_tag() == "v1"  # nobody approved yet

    (runner,) = RUNNER
    event = http_event("POST", f"/api/retrain-runs/{run_id}/approve", body={}, groups="[agent]")
    assert call(lambda event, _: runner.invoke("ApiFunction", event), event).status == 403

    answered = admin("POST", f"/api/retrain-runs/{run_id}/approve", body={"note": "read the regressions"})
    assert answered.status == 202, answered.body
    done = wait_for(run_id, lambda v: v["status"] != "awaiting_approval")
    assert done["status"] == "promoted", done
    assert done["reason"].startswith("Approved by ") and "read the regressions" in done["reason"]
    assert done["steps"]["approval"]["outcome"] == "approved"
    assert active_tag() == done["candidateVersion"]
    again = admin("POST", f"/api/retrain-runs/{run_id}/approve", body={})
    assert again.status == 409  # decided once


def test_a_rejected_candidate_keeps_the_incumbent(flow):
    assert admin("POST", "/api/versions/v1/activate").status == 200
    view = run({"minNotUseful": 0, "promotion": "approve"})
    assert view["status"] == "awaiting_approval", view
    assert admin("POST", f"/api/retrain-runs/{view['runId']}/reject", body={"note": "too terse"}).status == 202
    done = wait_for(view["runId"], lambda v: v["status"] != "awaiting_approval")
    assert done["status"] == "not_promoted" and done["reason"].startswith("Rejected by ")
    assert active_tag() == "v1"


def test_an_approval_nobody_gives_expires(flow):
    assert admin("POST", "/api/versions/v1/activate").status == 200
    view = run({"minNotUseful": 0, "promotion": "approve", "approvalTimeoutSeconds": 1})
    done = wait_for(view["runId"], lambda v: v["status"] not in ("running", "awaiting_approval"))
    assert done["status"] == "expired", done
    assert "Nobody approved or rejected the candidate within 1 s" in done["reason"]
    assert active_tag() == "v1"


def test_a_bedrock_customization_run_trains_on_bedrock_lines_and_is_registered_not_evaluated(flow, monkeypatch):
    from moto.bedrock.models import bedrock_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    from replyloop.adapters.trainers import bedrock_job_name
    from replyloop.domain.bedrock import validate_bedrock

    monkeypatch.setenv("BEDROCK_CUSTOMIZATION_ROLE_ARN", "arn:aws:iam::123456789012:role/replyloop-customization")
    monkeypatch.setenv("RETRAIN_BASE_MODEL", "amazon.nova-micro-v1:0:128k")
    clear_all()  # the settings are read once per process
    try:
        options = {**FAST, "minNotUseful": 0, "trainer": "bedrock-customization", "maxPolls": 300}
        started = admin("POST", "/api/retrain-runs", body=options)
        assert started.status == 202, started.body
        run_id = started.body["runId"]
        running = wait_for(run_id, lambda view: view["steps"].get("train", {}).get("outcome") == "running")
        assert running["status"] == "running"
        # moto keeps a job InProgress for ever: it completes when Bedrock would, here when the test says so.
        jobs = bedrock_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].model_customization_jobs
        jobs[bedrock_job_name(run_id)].status = "Completed"
        view = wait_for(run_id, lambda view: view["status"] != "running")
    finally:
        monkeypatch.undo()
        clear_all()
    assert view["status"] == "insufficient_evidence", view
    assert view["reason"].startswith("The candidate's model arn:aws:bedrock:us-east-1:123456789012:custom-model/")
    assert "needs Bedrock's Converse API" in view["reason"]
    assert view["steps"]["export"]["format"] == "bedrock"
    s3 = boto3.client("s3")
    bucket, _, key = view["steps"]["export"]["files"]["train.jsonl"].removeprefix("s3://").partition("/")
    lines = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
    assert lines and all(validate_bedrock(json.loads(line)) is None for line in lines)
    version = next(
        v for v in admin("GET", "/api/versions").body["items"] if v["versionTag"] == view["candidateVersion"]
    )
    assert version["trainer"] == "bedrock-customization" and version["status"] == "candidate"
    assert version["model"].endswith(f":custom-model/{bedrock_job_name(run_id)}-{bedrock_job_name(run_id)}")
    assert version["fineTuneId"].endswith(f":model-customization-job/{bedrock_job_name(run_id)}")


def test_a_run_whose_format_its_trainer_cannot_read_is_refused_at_once(flow):
    refused = admin("POST", "/api/retrain-runs", body={"trainer": "openai", "format": "bedrock"})
    assert refused.status == 400
    assert "The openai trainer trains on the openai format, not bedrock." in json.dumps(refused.body)


def test_a_provider_that_refuses_new_fine_tuning_jobs_fails_the_run_with_the_reason_and_what_next(flow, monkeypatch):
    from tests.fake_provider import fake_provider

    refusal = {
        "error": {
            "message": "New fine-tuning jobs are no longer accepted (deprecated 2027-01-06).",
            "type": "invalid_request_error",
            "param": None,
            "code": "fine_tuning_unavailable",
        }
    }
    with fake_provider() as provider:
        provider.refuse_jobs = (403, refusal)
        monkeypatch.setenv("LLM_ENDPOINTS", json.dumps({"legacy": {"baseUrl": provider.url}}))
        clear_all()
        try:
            view = run({"minNotUseful": 0, "trainer": "openai", "endpoint": "legacy"})
        finally:
            monkeypatch.undo()
            clear_all()
    assert view["status"] == "failed", view
    assert view["reason"] == (
        "TrainerError: The legacy endpoint no longer takes new fine-tuning jobs (deprecation): New fine-tuning "
        "jobs are no longer accepted (deprecated 2027-01-06). Use trainer gepa or trainer compile or the openai "
        "endpoint instead."
    )
    assert [r["path"] for r in provider.requests if r["method"] == "POST"][-1] == "/v1/fine_tuning/jobs"
    assert view["candidateVersion"] is None


# -- the gepa trainer ------------------------------------------------------------------------------------


def test_gepa_evolves_a_prompt_within_its_budget_and_the_gate_promotes_it(flow):
    assert admin("POST", "/api/versions/v1/activate").status == 200  # the bare first version serves
    view = run({"minNotUseful": 0, "trainer": "gepa", "maxMetricCalls": 40}, timeout=300)
    assert view["status"] == "promoted", view
    assert list(view["steps"]) == ["begin", "export", "train", "register", "evaluate", "promote"]
    train = view["steps"]["train"]
    progress = train["progress"]
    assert train["outcome"] == "succeeded" and progress["finished"] and progress["stoppedBy"] == "budget"
    assert 0 < progress["metricCalls"] <= 40 and progress["budget"] == 40
    assert progress["candidates"]["count"] >= 2 and progress["bestScore"] > progress["seedScore"]
    assert all("validationScore" in c for c in progress["candidates"]["items"])
    assert progress["llmCalls"] > 0 and progress["valSplit"] == "validation"
    chosen = progress["chosen"]
    assert chosen["diff"].startswith("--- reply v") and chosen["diffUrl"].endswith(f"to={chosen['promptVersion']}")

    # GEPA's cases are the export's train and validation lines: never a held-out (evaluation) case.
    run_id = view["runId"]
    cases = s3_lines(flow, run_id, "feedback_train.jsonl") + s3_lines(flow, run_id, "feedback_validation.jsonl")
    manifest = s3_lines(flow, run_id, "manifest.json")
    held_out = {case["interactionId"] for case in manifest["heldOut"]["cases"]}
    assert cases and not {case["interactionId"] for case in cases} & held_out
    assert not {case["interactionId"] for case in cases} & set(view["evaluation"]["caseIds"])

    versions = {v["versionTag"]: v for v in admin("GET", "/api/versions").body["items"]}
    candidate = versions[view["candidateVersion"]]
    assert candidate["trainer"] == "gepa" and candidate["status"] == "active"
    assert candidate["promptVersion"] == chosen["promptVersion"]
    prompts = admin("GET", "/api/prompts/reply/versions").body["items"]  # what the Prompts page lists
    prompt = next(p for p in prompts if p["version"] == chosen["promptVersion"])
    assert prompt["improvementNotes"].startswith(f"Retrain run {run_id}. GEPA: ")
    path, _, query = chosen["diffUrl"].partition("?")
    diff = admin("GET", path, params=dict(pair.split("=") for pair in query.split("&")))
    assert diff.status == 200 and diff.body["unifiedDiff"] == chosen["diff"]


def test_a_gepa_budget_too_small_for_one_iteration_fails_the_run_with_the_reason(flow):
    view = run({"minNotUseful": 0, "trainer": "gepa", "maxMetricCalls": 5})
    assert view["status"] == "failed", view
    assert view["reason"].startswith("TrainerError: maxMetricCalls 5 cannot pay for scoring the incumbent prompt")
    assert view["candidateVersion"] is None


def test_a_gepa_budget_spent_without_a_better_prompt_fails_the_run_with_its_search_on_record(flow, monkeypatch):
    from replyloop.adapters.gepa_trainer import ReplyAdapter

    assert admin("POST", "/api/versions/v1/activate").status == 200
    # A reflection that proposes nothing better: every candidate drafts like the incumbent, none is kept.
    monkeypatch.setattr(ReplyAdapter, "reflect", lambda self, prompt: "```\nBe brief.\n```")
    view = run({"minNotUseful": 0, "trainer": "gepa", "maxMetricCalls": 40})
    assert view["status"] == "failed", view
    assert view["reason"].startswith("TrainingFailedError: GEPA: ")
    assert "no candidate scored above the incumbent prompt" in view["reason"]
    train = view["steps"]["train"]
    assert train["outcome"] == "failed" and view["candidateVersion"] is None
    progress = train["progress"]
    assert progress["finished"] and progress["stoppedBy"] == "budget" and progress["bestCandidate"] == 0
    assert progress["metricCalls"] <= 40 and progress["candidates"]["count"] == 1


def test_gepa_loops_over_invocations_and_resumes_from_its_checkpoint_after_an_interruption(flow, monkeypatch):
    from replyloop.adapters.gepa_trainer import GepaTrainer, ReplyAdapter
    from replyloop.domain.errors import LlmUnavailableError

    assert admin("POST", "/api/versions/v1/activate").status == 200
    monkeypatch.setattr(GepaTrainer, "iterations_per_invocation", 1)  # one iteration per Lambda invocation
    reflections = {"n": 0}
    reflect = ReplyAdapter.reflect

    def loses_the_model_once(self, prompt):
        reflections["n"] += 1
        if reflections["n"] == 2:  # mid-run, after checkpoints: what the port raises when the model times out
            self.failure = LlmUnavailableError("The model did not answer in time; try again shortly.")
            raise self.failure
        return reflect(self, prompt)

    monkeypatch.setattr(ReplyAdapter, "reflect", loses_the_model_once)
    view = run({"minNotUseful": 0, "trainer": "gepa", "maxMetricCalls": 40}, timeout=300)
    assert view["status"] in ("promoted", "not_promoted"), view
    progress = view["steps"]["train"]["progress"]
    assert reflections["n"] >= 3
    # Each invocation resumed from the checkpoint the last one left: the interrupted one's retry too.
    assert progress["invocations"] >= 3 and len(progress["resumedAt"]) >= 2
    assert progress["resumedAt"] == sorted(progress["resumedAt"])
    assert progress["metricCalls"] <= 40 and progress["finished"]
    checkpoint = boto3.client("s3").head_object(
        Bucket=flow.buckets["TrainingBucket"], Key=f"retrain/{view['runId']}/gepa/checkpoint.tar.gz"
    )
    assert checkpoint["ContentLength"] > 0
