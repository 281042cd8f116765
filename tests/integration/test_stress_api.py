"""Stress tests through the API: both versions per query, judged, logged, summarised."""

from __future__ import annotations

from tests.integration.test_assistant_api import admin, new_version

EXEMPLAR_MESSAGE = "I was charged twice for my subscription this month"


def test_a_stress_test_compares_versions_and_keeps_its_log(api):
    new_version(api, "v2")  # exemplars for billing and shipping; v1 has none
    started = admin(api, "POST", "/api/stress-tests", body={"candidate": "v2", "source": "test", "planned": 2})
    assert started.status == 201, started.body
    run_id = started.body["runId"]
    assert started.body["baseline"] == "v1"

    cases = [
        {"message": EXEMPLAR_MESSAGE, "referenceReply": "I refunded the duplicate charge.", "interactionId": "abc"},
        {"message": "Do you sell gift cards?"},
    ]
    results = [admin(api, "POST", f"/api/stress-tests/{run_id}/cases", body=c) for c in cases]
    assert [r.status for r in results] == [200, 200]
    billing = results[0].body
    assert billing["outcome"] == "win"  # v2 answers from its exemplar; v1 can only hold
    assert billing["candidateScore"] > billing["baselineScore"]
    assert billing["caseId"] == "abc"

    summary = admin(api, "POST", f"/api/stress-tests/{run_id}/finish", body={"durationSeconds": 2.0})
    assert summary.status == 200
    assert summary.body["cases"] == 2
    assert summary.body["wins"] >= 1
    assert summary.body["throughputPerSecond"] == 1.0

    listed = admin(api, "GET", "/api/stress-tests").body["items"]
    assert [r["runId"] for r in listed] == [run_id]
    assert listed[0]["status"] == "finished"
    detail = admin(api, "GET", f"/api/stress-tests/{run_id}").body
    assert len(detail["cases"]) == 2
    assert detail["summary"]["cases"] == 2


def test_unknown_versions_and_runs_are_404(api):
    assert admin(api, "POST", "/api/stress-tests", body={"candidate": "v9"}).status == 404
    missing = "0" * 32
    assert admin(api, "GET", f"/api/stress-tests/{missing}").status == 404
    assert admin(api, "POST", f"/api/stress-tests/{missing}/cases", body={"message": "hi"}).status == 404


def test_agents_cannot_run_stress_tests(api):
    assert api("POST", "/api/stress-tests", body={"candidate": "v1"}).status == 403
