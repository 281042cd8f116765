"""Batch-mode stress tests through the API, end to end: moto for AWS, the offline model's Batch API for OpenAI."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from replyloop.adapters.stress_log import DynamoStressLog
from replyloop.domain.errors import StorageError
from replyloop.domain.stress_batch import BatchState
from replyloop.local import offline_model
from replyloop.local.offline_model import batches as offline_batches
from replyloop.local.offline_model import chat as offline_chat
from replyloop.local.offline_model.state import BATCHES, FILES, api_error
from replyloop.services import stress_batch
from replyloop.wiring import get_batches, get_llm_settings, get_redactor, get_registry, get_stress_log
from tests.integration.test_assistant_api import admin, new_version
from tests.integration.test_stress_api import EXEMPLAR_MESSAGE

QUERIES = [
    {"caseId": "billing", "message": EXEMPLAR_MESSAGE, "referenceReply": "I refunded the duplicate charge."},
    {"caseId": "gift", "message": "Do you sell gift cards?"},
    {"caseId": "parcel", "message": "My parcel has not arrived", "interactionId": "int-1"},
]


def start_batch(api, queries=QUERIES) -> str:
    new_version(api, "v2")  # exemplars for billing and shipping; v1 has none
    started = admin(api, "POST", "/api/stress-tests", body={"candidate": "v2", "mode": "batch", "planned": 3})
    assert started.status == 201, started.body
    assert started.body["mode"] == "batch"
    run_id = started.body["runId"]
    if queries:
        added = admin(api, "POST", f"/api/stress-tests/{run_id}/queries", body={"queries": queries})
        assert added.status == 200, added.body
    return run_id


def poll_until_done(api, run_id: str, limit: int = 20) -> list[dict]:
    seen = []
    for _ in range(limit):
        result = admin(api, "POST", f"/api/stress-tests/{run_id}/batch/poll")
        assert result.status == 200, result.body
        seen.append(result.body)
        if result.body["stage"] in ("finished", "failed"):
            return seen
    raise AssertionError(f"still {seen[-1]['stage']} after {limit} polls")


def batches_of(run_id: str) -> dict[str, list[str]]:
    """The offline model's batches for this run, by stage (what was really submitted)."""
    found: dict[str, list[str]] = {}
    for batch in BATCHES.values():
        metadata = batch.get("metadata") or {}
        if metadata.get("replyloop_stress_test") == run_id:
            found.setdefault(metadata["replyloop_stage"], []).append(batch["id"])
    return found


def test_a_batch_run_drafts_judges_logs_and_summarises_like_the_live_one(api):
    run_id = start_batch(api)
    # A case id sent again replaces its query rather than adding one.
    again = admin(api, "POST", f"/api/stress-tests/{run_id}/queries", body={"queries": [QUERIES[1]]})
    assert again.body == {"runId": run_id, "added": 1}

    seen = poll_until_done(api, run_id)
    stages = [poll["stage"] for poll in seen]
    assert stages[0] == "drafting" and stages[-1] == "finished" and "judging" in stages
    progress = [(p["stage"], p["batchStatus"], p["requestCounts"]) for p in seen]
    assert ("drafting", "finalizing", {"total": 6, "completed": 6, "failed": 0}) in progress  # 3 queries x 2
    done = seen[-1]
    assert done["status"] == "finished"
    assert done["queries"] == 3 and done["failedCases"] == 0 and done["errors"] == []
    summary = done["summary"]
    assert summary["cases"] == 3
    assert summary["wins"] + summary["losses"] + summary["ties"] == 3
    assert summary["tokens"] > 0

    detail = admin(api, "GET", f"/api/stress-tests/{run_id}").body
    cases = {case["caseId"]: case for case in detail["cases"]}
    assert set(cases) == {"billing", "gift", "parcel"}
    billing = cases["billing"]
    assert billing["outcome"] == "win"  # v2 answers from its exemplar; v1 can only hold - as live
    assert billing["candidateReply"].startswith("I refunded the duplicate charge")
    assert billing["baselineReply"] == offline_model.GENERIC_REPLY
    assert billing["comments"].startswith("v1: Offline judge") and "| v2: Offline judge" in billing["comments"]
    assert cases["parcel"]["interactionId"] == "int-1"
    assert detail["run"]["status"] == "finished" and detail["run"]["mode"] == "batch"
    assert detail["summary"]["cases"] == 3

    # Polling a finished run changes nothing and submits nothing.
    before = batches_of(run_id)
    assert {stage: len(ids) for stage, ids in before.items()} == {"drafting": 1, "judging": 1}
    repeat = admin(api, "POST", f"/api/stress-tests/{run_id}/batch/poll").body
    assert repeat["summary"] == summary
    assert batches_of(run_id) == before


def test_batch_and_live_runs_refuse_each_others_routes(api):
    run_id = start_batch(api, queries=None)
    empty = admin(api, "POST", f"/api/stress-tests/{run_id}/batch/poll")
    assert empty.status == 400 and "no queries" in empty.body["message"]
    assert admin(api, "POST", f"/api/stress-tests/{run_id}/cases", body={"message": "hi"}).status == 409
    assert admin(api, "POST", f"/api/stress-tests/{run_id}/finish", body={"durationSeconds": 1}).status == 409

    admin(api, "POST", f"/api/stress-tests/{run_id}/queries", body={"queries": QUERIES})
    assert admin(api, "POST", f"/api/stress-tests/{run_id}/batch/poll").body["stage"] == "drafting"
    late = admin(api, "POST", f"/api/stress-tests/{run_id}/queries", body={"queries": QUERIES})
    assert late.status == 409 and "already submitted" in late.body["message"]

    live = admin(api, "POST", "/api/stress-tests", body={"candidate": "v2"}).body["runId"]
    assert admin(api, "POST", f"/api/stress-tests/{live}/batch/poll").status == 409
    assert admin(api, "POST", f"/api/stress-tests/{live}/queries", body={"queries": QUERIES}).status == 409
    assert admin(api, "POST", "/api/stress-tests/" + "0" * 32 + "/batch/poll").status == 404
    too_many = admin(api, "POST", f"/api/stress-tests/{run_id}/queries", body={"queries": [{"message": "x"}] * 501})
    assert too_many.status == 422
    assert api("POST", f"/api/stress-tests/{run_id}/batch/poll").status == 403  # agents may not


def test_a_poll_that_dies_after_submitting_is_retried_without_a_second_batch(api, monkeypatch):
    run_id = start_batch(api)
    real = DynamoStressLog.advance_stage
    calls = {"n": 0}

    def dies_once(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise StorageError("The data store could not answer")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(DynamoStressLog, "advance_stage", dies_once)
    failed = admin(api, "POST", f"/api/stress-tests/{run_id}/batch/poll")
    assert failed.status == 503  # the batch was created, the stage was not recorded
    assert len(batches_of(run_id)["drafting"]) == 1

    retried = admin(api, "POST", f"/api/stress-tests/{run_id}/batch/poll").body
    (drafts,) = batches_of(run_id)["drafting"]
    assert retried["stage"] == "drafting" and retried["batchId"] == drafts  # found by its metadata, reused
    assert poll_until_done(api, run_id)[-1]["stage"] == "finished"
    assert {stage: len(ids) for stage, ids in batches_of(run_id).items()} == {"drafting": 1, "judging": 1}


def test_a_poll_that_loses_a_race_cancels_its_own_batch(api, monkeypatch):
    run_id = start_batch(api)
    real = DynamoStressLog.advance_stage
    winner = {}

    def another_poll_got_there_first(self, run, expected, stage, change):
        other = get_batches().submit("other.jsonl", iter(["{}\n"]), {"other": "poll"})
        winner["id"] = other.batch_id
        assert real(self, run, expected, stage, replace(change, drafts_batch_id=other.batch_id))
        return real(self, run, expected, stage, change)

    monkeypatch.setattr(DynamoStressLog, "advance_stage", another_poll_got_there_first)
    result = admin(api, "POST", f"/api/stress-tests/{run_id}/batch/poll").body
    assert result["batchId"] == winner["id"]
    (ours,) = batches_of(run_id)["drafting"]
    assert BATCHES[ours]["status"] == "cancelling"


def test_failed_requests_leave_their_case_out_and_say_why(api, monkeypatch):
    real = offline_chat.chat_completion

    def refuses_poison(body):
        if any("poison" in str(m.get("content")) for m in body.get("messages", [])):
            return api_error(400, "This request was refused by the model.")
        return real(body)

    monkeypatch.setattr(offline_chat, "chat_completion", refuses_poison)
    run_id = start_batch(api, [*QUERIES, {"caseId": "bad", "message": "poison pill"}])
    done = poll_until_done(api, run_id)[-1]
    assert done["stage"] == "finished"
    assert done["summary"]["cases"] == 3
    assert done["failedCases"] == 1
    (error,) = done["errors"]
    assert error["caseId"] == "bad"
    assert "HTTP 400" in error["message"] and "refused by the model" in error["message"]
    detail = admin(api, "GET", f"/api/stress-tests/{run_id}").body
    assert "bad" not in {case["caseId"] for case in detail["cases"]}


def test_a_batch_that_fails_fails_the_run_with_the_reason(api, monkeypatch):
    monkeypatch.setattr(
        offline_batches,
        "check_batch_file",
        lambda content, endpoint: ([], [{"code": "invalid_request", "message": "broken", "line": 1, "param": None}]),
    )
    run_id = start_batch(api)
    done = poll_until_done(api, run_id)[-1]
    assert done["stage"] == "failed" and done["status"] == "failed"
    assert done["reason"].startswith("Drafting: Batch ") and "line 1: broken" in done["reason"]
    assert admin(api, "GET", f"/api/stress-tests/{run_id}").body["run"]["status"] == "failed"


class ExpiringBatches:
    """The real offline batches, except that the judging batch expires with only some requests done."""

    def __init__(self, keep: set[str]) -> None:
        self.real, self.keep = get_batches(), keep

    def __getattr__(self, name):
        return getattr(self.real, name)

    def retrieve(self, batch_id: str) -> BatchState:
        state = self.real.retrieve(batch_id)
        if BATCHES[batch_id]["metadata"].get("replyloop_stage") != "judging" or state.running:
            return state
        return BatchState(batch_id, "expired", state.total, state.completed, state.failed, state.output_file_id)

    def lines(self, file_id: str):
        for line in self.real.lines(file_id):
            if "judge:" not in line or any(f":{case}" in line for case in self.keep):
                yield line


def test_an_expired_batch_keeps_what_finished_and_counts_the_rest_as_failed(api):
    run_id = start_batch(api)
    deps = stress_batch.BatchDeps(
        log=get_stress_log(),
        registry=get_registry(),
        settings=get_llm_settings(),
        batches=ExpiringBatches(keep={"billing"}),
        now=datetime.now(UTC),
        redactor=get_redactor(),
    )
    for _ in range(10):
        progress = stress_batch.poll(deps, run_id)
        if progress.run.stage in ("finished", "failed"):
            break
    assert progress.run.stage == "finished"
    assert progress.summary is not None and progress.summary.cases == 1
    assert progress.run.failed_cases == 2
    assert {e.case_id for e in progress.run.batch_errors} == {"gift", "parcel"}
    assert all("expired" in e.message for e in progress.run.batch_errors)


@pytest.mark.parametrize("status", ["cancelled", "failed"])
def test_a_cancelled_or_failed_drafts_batch_stops_the_run(api, status):
    run_id = start_batch(api)
    assert admin(api, "POST", f"/api/stress-tests/{run_id}/batch/poll").body["stage"] == "drafting"
    (drafts,) = batches_of(run_id)["drafting"]
    BATCHES[drafts]["status"] = status
    done = admin(api, "POST", f"/api/stress-tests/{run_id}/batch/poll").body
    assert done["stage"] == "failed"
    assert done["batchStatus"] == status
    assert ("cancelled" if status == "cancelled" else "failed") in done["reason"]


def test_the_request_files_left_with_the_batch_provider_carry_no_personal_data(api):
    message = "Hi, I'm Maria Lopez (maria.lopez@example.com, +44 20 7946 0958): I was charged twice."
    queries = [{"caseId": "pii", "message": message, "referenceReply": "Maria, I refunded the duplicate charge."}]
    run_id = start_batch(api, queries)
    poll_until_done(api, run_id)
    submitted = [
        line
        for ids in batches_of(run_id).values()
        for batch_id in ids
        for line in FILES[BATCHES[batch_id]["input_file_id"]]["content"].decode().splitlines()
    ]
    assert submitted and not [line for line in submitted if "maria" in line.lower() or "7946" in line]
    assert any("[EMAIL]" in line for line in submitted)
    # The results are logged against the stored query, unredacted, in the operational store.
    cases = admin(api, "GET", f"/api/stress-tests/{run_id}").body["cases"]
    assert [case["message"] for case in cases] == [message]
