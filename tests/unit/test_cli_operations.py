"""The CLI's orchestration (`replyloop.operations`): seeding, export set-up, stress tests and retrain runs.

Given an in-memory fake of the HTTP API, each operation makes the calls the stack expects and returns
what the command prints; no network, no stack.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from replyloop.client import ApiError
from replyloop.models.retrain import NewRetrainRun
from replyloop.operations import export, retrain, seed, stress_test
from replyloop.services.export import ExportOptions

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
Route = Callable[[Any], Any] | Any


class FakeApi:
    """Answers each (method, path) from a table; a callable answer gets the body (POST) or params (GET)."""

    def __init__(self, routes: dict[tuple[str, str], Route]) -> None:
        self.routes = routes
        self.calls: list[tuple[str, str, Any]] = []

    def _answer(self, method: str, path: str, payload: Any) -> Any:
        self.calls.append((method, path, payload))
        answer = self.routes[(method, path)]
        return answer(payload) if callable(answer) else answer

    def get(self, path: str, **params: Any) -> Any:
        return self._answer("GET", path, params)

    def post(self, path: str, body: Any) -> Any:
        return self._answer("POST", path, body)

    def delete(self, path: str) -> Any:
        return self._answer("DELETE", path, None)

    def posted(self, path: str) -> list[Any]:
        return [body for method, called, body in self.calls if method == "POST" and called == path]


def versions(*entries: tuple[str, str]) -> dict[str, Any]:
    return {
        "items": [
            {"versionTag": tag, "status": status, "promptName": "reply", "promptVersion": index + 1}
            for index, (tag, status) in enumerate(entries)
        ]
    }


# Seeding


def test_seed_registers_only_new_versions_and_activates_each():
    api = FakeApi(
        {
            ("GET", "/api/versions"): versions(("v1", "inactive"), ("v2", "inactive")),
            ("POST", "/api/prompts/reply/versions"): {"version": 7},
            ("POST", "/api/versions"): {},
            ("POST", "/api/versions/v3/activate"): {},
        }
    )
    tally = seed.SeedTally()
    steps = [
        {"tag": "v2", "prompt": {"text": "old"}, "description": "already there"},
        {"tag": "v3", "prompt": {"text": "new"}, "description": "exemplars for every topic"},
    ]

    seed.register_versions(api, steps, tally)

    assert api.posted("/api/prompts/reply/versions") == [{"text": "new"}]
    assert api.posted("/api/versions") == [
        {"versionTag": "v3", "promptVersion": 7, "description": "exemplars for every topic"}
    ]
    assert api.posted("/api/versions/v3/activate") == [None]
    assert tally.versions == 1


def test_seed_leaves_a_step_marked_not_to_activate_a_candidate():
    api = FakeApi(
        {
            ("GET", "/api/versions"): versions(("v1", "inactive")),
            ("POST", "/api/prompts/reply/versions"): {"version": 8},
            ("POST", "/api/versions"): {},
            ("POST", "/api/versions/v3/activate"): {},
        }
    )
    tally = seed.SeedTally()
    steps = [
        {"tag": "v3", "prompt": {"text": "active"}, "description": "serves"},
        {"tag": "v4", "prompt": {"text": "next"}, "description": "waits", "activate": False},
    ]

    seed.register_versions(api, steps, tally)

    assert [body["versionTag"] for body in api.posted("/api/versions")] == ["v3", "v4"]
    assert api.posted("/api/versions/v3/activate") == [None]
    assert api.posted("/api/versions/v4/activate") == []
    assert (tally.versions, tally.candidates) == (2, ["v4"])


def test_seed_history_counts_verdicts_and_keeps_the_count_when_the_api_fails():
    sent: list[Any] = []

    def record(body: Any) -> dict[str, Any]:
        if len(sent) == 3:
            raise ApiError(503, "busy")
        sent.append(body)
        return {}

    api = FakeApi({("POST", "/api/feedback-replay"): record, ("POST", "/api/interactions"): record})
    requests = [
        {"path": "/api/feedback-replay", "body": {"feedback": "yes"}},
        {"path": "/api/feedback-replay", "body": {"feedback": "no"}},
        {"path": "/api/interactions", "body": {}},
        {"path": "/api/feedback-replay", "body": {"feedback": "no"}},
    ]
    tally = seed.SeedTally()

    with pytest.raises(ApiError):
        seed.record_history(api, requests, tally, concurrency=1)

    assert (tally.interactions, tally.useful, tally.not_useful, tally.without_verdict) == (3, 1, 1, 1)


def test_seed_history_keeps_requests_in_flight_side_by_side_and_counts_each_once():
    import threading

    # Each request is answered only once 8 are in flight together: sent one after another, it times out.
    together = threading.Barrier(8, timeout=10)
    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def record(body: Any) -> dict[str, Any]:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        together.wait()
        with lock:
            state["now"] -= 1
        return {}

    api = FakeApi({("POST", "/api/feedback-replay"): record})
    requests = [{"path": "/api/feedback-replay", "body": {"feedback": "yes" if n % 3 else "no"}} for n in range(40)]
    tally = seed.SeedTally()

    seed.record_history(api, requests, tally, concurrency=8)

    assert state["most"] == 8  # never more than asked
    assert (tally.interactions, tally.useful, tally.not_useful) == (40, 26, 14)
    assert len(api.posted("/api/feedback-replay")) == 40


def test_seed_live_drafts_count_the_snoozed_ones():
    api = FakeApi({("POST", "/api/replies"): lambda body: {"snoozed": body["message"].startswith("odd")}})
    tally = seed.SeedTally()

    seed.draft_live(api, ["Where is my order?", "odd question", "odd again"], tally)

    assert (tally.drafts, tally.snoozed) == (3, 2)


# Export set-up


def export_api(by_version: dict[str | None, int]) -> FakeApi:
    return FakeApi(
        {
            ("GET", "/api/versions"): versions(("v1", "inactive"), ("v2", "active")),
            ("GET", "/api/prompts/reply/versions"): {
                "items": [{"name": "reply", "version": n, "text": f"prompt {n}"} for n in (1, 2)]
            },
            ("GET", "/api/feedback/analytics"): lambda params: {"notUsefulCount": by_version[params.get("version")]},
        }
    )


def test_export_uses_the_active_versions_prompt():
    prompt = export.active_prompt(export_api({}), NOW)
    assert (prompt.name, prompt.version, prompt.text) == ("reply", 2, "prompt 2")


def test_export_plan_expects_every_not_useful_verdict_of_the_window_or_of_one_version():
    counts = {None: 14, "v1": 9, "v2": 5}
    plan = export.plan_export(export_api(counts), ExportOptions(min_not_useful=5), NOW)
    assert plan.expected_rows == 14  # every source: topics are selected after reading
    assert plan.prompt.version == 2
    assert export.plan_export(export_api(counts), ExportOptions(version="v2"), NOW).expected_rows == 5


def test_export_without_an_active_version_says_so():
    api = FakeApi({("GET", "/api/versions"): versions(("v1", "candidate"))})
    with pytest.raises(export.ExportSetupError, match="no active assistant version"):
        export.active_prompt(api, NOW)


# Stress tests

SUMMARY = {
    "cases": 2,
    "baselineMean": 3.5,
    "candidateMean": 3.0,
    "baselineDistribution": {"3": 1, "4": 1},
    "candidateDistribution": {"2": 1, "4": 1},
    "wins": 1,
    "losses": 1,
    "ties": 0,
    "lossShare": 0.5,
    "tokens": 420,
    "costUsd": 0.0012,
    "durationSeconds": 2.5,
    "throughputPerSecond": 0.8,
    "worstRegressions": [],
}


def test_the_newest_candidate_is_the_last_listed():
    api = FakeApi({("GET", "/api/versions"): versions(("v1", "active"), ("v2", "candidate"), ("v3", "candidate"))})
    assert stress_test.newest_candidate(api) == "v3"
    assert stress_test.newest_candidate(FakeApi({("GET", "/api/versions"): versions(("v1", "active"))})) is None


def test_simulated_queries_are_named_for_the_run_log_and_capped_by_the_limit():
    gathered = stress_test.gather_queries(FakeApi({}), days=7, limit=3, simulate=10)
    assert len(gathered.queries) == 3
    assert gathered.source == "simulated x3"


def test_real_queries_come_from_not_useful_verdicts_with_an_ai_reply():
    page = {
        "items": [
            {"interactionId": "a", "message": "late", "aiReply": "sorry", "agentReply": "ships today"},
            {"interactionId": "b", "message": "no draft", "aiReply": None},
        ]
    }
    gathered = stress_test.gather_queries(FakeApi({("GET", "/api/feedback/replay"): page}), days=7, limit=10)
    assert gathered.queries == [stress_test.Query("late", "ships today", "a")]
    assert gathered.source == "failed queries, last 7 days"


def test_a_live_run_sends_every_query_then_finishes_with_its_duration():
    api = FakeApi(
        {
            ("POST", "/api/stress-tests"): {"runId": "r1", "baseline": "v1", "candidate": "v2", "mode": "live"},
            ("POST", "/api/stress-tests/r1/cases"): {},
            ("POST", "/api/stress-tests/r1/finish"): SUMMARY,
        }
    )
    gathered = stress_test.QuerySet([stress_test.Query("a"), stress_test.Query("b", "ref")], "test")
    ticks = iter([10.0, 12.5])
    done: list[int] = []

    run = stress_test.start_run(api, baseline=None, candidate="v2", queries=gathered, batch=False)
    report = stress_test.run_live(api, run, gathered.queries, 2, done.append, clock=lambda: next(ticks))

    assert api.posted("/api/stress-tests") == [
        {"baseline": None, "candidate": "v2", "source": "test", "planned": 2, "mode": "live"}
    ]
    assert sorted(body["caseId"] for body in api.posted("/api/stress-tests/r1/cases")) == ["q0", "q1"]
    assert api.posted("/api/stress-tests/r1/finish") == [{"durationSeconds": 2.5}]
    assert done == [1, 1]
    assert report.to_json() == {"runId": "r1", "baseline": "v1", "candidate": "v2", **SUMMARY}
    assert report.drifted(0.4) and not report.drifted(0.5)


def progress(stage: str, **extra: Any) -> dict[str, Any]:
    return {"runId": "r1", "baseline": "v1", "candidate": "v2", "stage": stage, "status": "running", **extra}


def test_following_a_batch_polls_until_it_finishes_and_reports_its_summary():
    polls = iter([progress("drafting"), progress("judging"), progress("finished", summary=SUMMARY)])
    api = FakeApi({("POST", "/api/stress-tests/r1/batch/poll"): lambda _: next(polls)})
    seen: list[str] = []
    slept: list[float] = []

    outcome = stress_test.follow_batch(
        api, "r1", wait=True, poll_seconds=0.5, on_progress=lambda p: seen.append(p.stage), sleep=slept.append
    )

    assert seen == ["drafting", "judging", "finished"]
    assert slept == [0.5, 0.5]
    assert outcome.report is not None and outcome.report.summary == SUMMARY


def test_a_batch_not_waited_for_is_polled_once_and_has_no_report():
    api = FakeApi({("POST", "/api/stress-tests/r1/batch/poll"): progress("drafting")})
    outcome = stress_test.follow_batch(api, "r1", wait=False, poll_seconds=30, sleep=pytest.fail)
    assert outcome.progress.stage == "drafting" and outcome.report is None
    assert len(api.calls) == 1


def test_a_failed_batch_stops_the_polling_with_its_reason():
    api = FakeApi({("POST", "/api/stress-tests/r1/batch/poll"): progress("failed", reason="batch expired")})
    outcome = stress_test.follow_batch(api, "r1", wait=True, poll_seconds=30, sleep=pytest.fail)
    assert (outcome.progress.stage, outcome.progress.reason, outcome.report) == ("failed", "batch expired", None)


# Retrain runs


def run_view(status: str, steps: dict[str, dict[str, Any]], reason: str | None = None) -> dict[str, Any]:
    return {
        "runId": "r1",
        "status": status,
        "trigger": "manual",
        "trainer": "prompt",
        "requestedBy": "dev-cli",
        "executionArn": None,
        "createdAt": "2026-11-20T10:00:00Z",
        "finishedAt": None,
        "reason": reason,
        "candidateVersion": None,
        "steps": steps,
        "evaluationUrl": None,
    }


def test_a_retrain_start_sends_only_the_options_given():
    api = FakeApi({("POST", "/api/retrain-runs"): {"runId": "r1", "statusUrl": "/api/retrain-runs/r1"}})
    started = retrain.start_run(api, NewRetrainRun(lookback_days=14, margin=0.2))
    assert api.posted("/api/retrain-runs") == [{"lookbackDays": 14, "margin": 0.2}]
    assert started.status_url == "/api/retrain-runs/r1"


def test_following_a_retrain_run_shows_each_step_outcome_once_until_it_ends():
    export_done = {"export": {"outcome": "done", "at": "2026-11-20T10:00:01Z", "detail": "40 rows"}}
    reads = iter(
        [
            run_view("running", export_done),
            run_view("running", export_done),
            run_view("promoted", {**export_done, "promote": {"outcome": "done", "reason": "won"}}, reason="won"),
        ]
    )
    api = FakeApi({("GET", "/api/retrain-runs/r1"): lambda _: next(reads)})
    steps: list[retrain.StepEvent] = []
    slept: list[float] = []

    run = retrain.follow_run(api, "/api/retrain-runs/r1", steps.append, sleep=slept.append)

    assert [(s.name, s.outcome, s.detail) for s in steps] == [("export", "done", "40 rows"), ("promote", "done", "won")]
    assert steps[0].at == "2026-11-20T10:00:01Z" and steps[1].at == ""
    assert (run.status, run.reason) == ("promoted", "won")
    assert slept == [1.0, 1.0]


# Erasure


def erasure(status: str, interactions: int) -> dict[str, Any]:
    return {
        "erasureId": "e" * 32,
        "status": status,
        "customerDigest": "d" * 32,
        "requestedBy": "lead",
        "requestedAt": "2026-12-06T10:00:00Z",
        "finishedAt": None if status == "pending" else "2026-12-06T10:05:00Z",
        "interactions": interactions,
        "items": interactions * 5,
        "stressCases": 0,
        "exportObjects": 1,
    }


def test_an_erasure_left_pending_is_polled_until_done_and_the_customer_id_is_quoted_in_the_path():
    from replyloop.operations.erasure import erase_customer

    answers = iter([erasure("pending", 50), erasure("done", 80)])
    api = FakeApi(
        {
            ("DELETE", "/api/customers/tenant%3A42%40acme"): erasure("pending", 25),
            ("GET", "/api/erasures/" + "e" * 32): lambda _: next(answers),
        }
    )
    seen: list[int] = []
    done = erase_customer(
        api, "tenant:42@acme", wait_seconds=60, progress=lambda e: seen.append(e.interactions), sleep=lambda _: None
    )
    assert (done.status, done.interactions) == ("done", 80) and seen == [25, 50]


def test_an_erasure_still_pending_after_the_wait_is_returned_as_pending():
    from replyloop.operations.erasure import erase_customer

    api = FakeApi({("DELETE", "/api/customers/c1"): erasure("pending", 25)})
    assert erase_customer(api, "c1", wait_seconds=0).status == "pending"
