"""The capture API against moto: record, give verdicts, read back, count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

DRAFT = {
    "message": "Where is order 123?",
    "aiReply": "Shipping takes 3-5 days.",
    "assistantVersion": "v1",
    "topic": "shipping",
    "confidence": 0.42,
    "conversationId": "c-1",
}
TODAY = datetime.now(UTC).date().isoformat()


def record(api, **overrides):
    result = api("POST", "/api/interactions", body={**DRAFT, **overrides})
    assert result.status == 201, result.body
    return result.body["interactionId"]


def analytics(api, **params):
    result = api("GET", "/api/feedback/analytics", params=params)
    assert result.status == 200, result.body
    return result.body


def test_record_then_read_an_interaction(api):
    interaction_id = record(api)
    result = api("GET", f"/api/interactions/{interaction_id}")
    assert result.status == 200
    body = result.body
    assert body["interactionId"] == interaction_id
    assert body["message"] == DRAFT["message"]
    assert body["aiReply"] == DRAFT["aiReply"]
    assert body["assistantVersion"] == "v1"
    assert body["confidence"] == 0.42
    assert body["createdBy"] == "tester"
    assert body["feedback"] is None
    assert analytics(api)["interactions"] == 1


def test_version_defaults_to_external(api):
    interaction_id = record(api, assistantVersion=None)
    assert api("GET", f"/api/interactions/{interaction_id}").body["assistantVersion"] == "external"


def test_feedback_is_counted_once_and_moves_when_changed(api):
    interaction_id = record(api)
    path = f"/api/interactions/{interaction_id}/feedback"

    first = api("POST", path, body={"useful": True})
    assert first.status == 200
    assert first.body["verdict"] == "yes"
    assert first.body["revision"] == 1
    again = api("POST", path, body={"useful": True})
    assert again.body["revision"] == 1  # nothing changed, nothing written
    stats = analytics(api)
    assert (stats["total"], stats["usefulCount"], stats["notUsefulCount"]) == (1, 1, 0)

    changed = api("POST", path, body={"useful": False, "agentReply": "It ships today, here's the link."})
    assert changed.body["revision"] == 2
    stats = analytics(api)
    assert (stats["total"], stats["usefulCount"], stats["notUsefulCount"]) == (1, 0, 1)
    assert stats["overrideCount"] == 1
    assert stats["overrideRate"] == 1.0
    today = next(d for d in stats["dailyBreakdown"] if d["date"] == TODAY)
    assert today == {"date": TODAY, "useful": 0, "notUseful": 1, "total": 1, "interactions": 1}


def test_a_no_with_agent_reply_becomes_a_training_example_until_it_turns_yes(api, stack):
    from replyloop.wiring import get_store

    interaction_id = record(api)
    path = f"/api/interactions/{interaction_id}/feedback"
    api("POST", path, body={"useful": False, "agentReply": "It ships today."})
    view = api("GET", f"/api/interactions/{interaction_id}").body
    assert view["agentReply"] == "It ships today."
    assert view["trainingPrompt"]["rating"] == 0
    assert "It ships today." in view["trainingPrompt"]["prompt"]
    stored = get_store().get_record(interaction_id)
    assert stored.training_example is not None
    assert stored.training_example.completion == "It ships today."

    api("POST", path, body={"useful": True})
    stored = get_store().get_record(interaction_id)
    assert stored.training_example is None
    assert stored.training_prompt.rating == 1


def test_the_one_call_feedback_log(api):
    result = api(
        "POST",
        "/api/feedback-replay",
        body={
            "message": "Refund?",
            "aiReply": "See policy.",
            "agentReply": "Refunded today.",
            "feedback": "no",
        },
    )
    assert result.status == 201, result.body
    view = api("GET", f"/api/interactions/{result.body['interactionId']}").body
    assert view["feedback"]["verdict"] == "no"
    assert view["agentReply"] == "Refunded today."
    stats = analytics(api)
    assert (stats["interactions"], stats["total"], stats["notUsefulCount"]) == (1, 1, 1)
    assert stats["topNegativeMessages"][0]["agentReply"] == "Refunded today."


def test_analytics_per_version_and_top_negative_messages(api):
    for version, useful in [("v1", False), ("v1", True), ("v2", True), ("v2", True)]:
        body = {**DRAFT, "assistantVersion": version, "feedback": "yes" if useful else "no"}
        assert api("POST", "/api/feedback-replay", body=body).status == 201
    everything, v2 = analytics(api), analytics(api, version="v2")
    assert (everything["total"], everything["usefulCount"]) == (4, 3)
    assert (v2["total"], v2["usefulCount"], v2["assistantVersion"]) == (2, 2, "v2")
    assert v2["topNegativeMessages"] == []
    assert [m["assistantVersion"] for m in everything["topNegativeMessages"]] == ["v1"]
    assert len(everything["dailyBreakdown"]) == 30


def test_analytics_reads_counters_never_scans(api, dynamodb_calls):
    for _ in range(3):
        api("POST", "/api/feedback-replay", body={**DRAFT, "feedback": "no"})
    dynamodb_calls.clear()
    analytics(api, days=90)
    # the day counters, the latest "no" verdicts, the failure categories per day
    assert dynamodb_calls == ["Query", "Query", "Query"]


def test_feedback_write_is_one_read_and_one_transaction(api, dynamodb_calls):
    interaction_id = record(api)
    dynamodb_calls.clear()
    api("POST", f"/api/interactions/{interaction_id}/feedback", body={"useful": True})
    assert dynamodb_calls == ["Query", "TransactWriteItems"]
    dynamodb_calls.clear()
    # A "no" also queues an explain job through the outbox: written in the transaction, cleared once sent.
    api("POST", f"/api/interactions/{interaction_id}/feedback", body={"useful": False})
    assert dynamodb_calls == ["Query", "TransactWriteItems", "DeleteItem"]


def test_backdated_history_lands_on_its_day(api):
    when = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
    body = {**DRAFT, "feedback": "yes", "createdAt": when.isoformat()}
    assert api("POST", "/api/feedback-replay", body=body, groups="[admin]").status == 201
    days = {d["date"]: d for d in analytics(api)["dailyBreakdown"]}
    assert days[when.date().isoformat()]["useful"] == 1


def test_replay_filters_and_pages(api):
    made = []
    for index in range(5):
        when = (datetime.now(UTC) - timedelta(days=index)).replace(microsecond=0)
        body = {
            **DRAFT,
            "message": f"m{index}",
            "feedback": "no" if index % 2 else "yes",
            "assistantVersion": "v2" if index < 3 else "v1",
            "createdAt": when.isoformat(),
        }
        made.append(api("POST", "/api/feedback-replay", body=body, groups="[admin]").body["interactionId"])

    first = api("GET", "/api/feedback/replay", params={"limit": 2})
    assert first.status == 200
    assert [i["message"] for i in first.body["items"]] == ["m0", "m1"]  # newest first
    second = api("GET", "/api/feedback/replay", params={"limit": 2, "cursor": first.body["nextCursor"]})
    assert [i["message"] for i in second.body["items"]] == ["m2", "m3"]

    only_no = api("GET", "/api/feedback/replay", params={"verdict": "no"}).body["items"]
    assert [i["message"] for i in only_no] == ["m1", "m3"]
    v2_no = api("GET", "/api/feedback/replay", params={"verdict": "no", "version": "v2"}).body["items"]
    assert [i["message"] for i in v2_no] == ["m1"]
    v1 = api("GET", "/api/feedback/replay", params={"version": "v1", "order": "oldest"}).body["items"]
    assert [i["message"] for i in v1] == ["m4", "m3"]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    ranged = api("GET", "/api/feedback/replay", params={"from": yesterday, "to": yesterday}).body["items"]
    assert [i["message"] for i in ranged] == ["m1"]


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor", "eyJwayI6MX0", "W10"],  # garbage, {"pk":1}, []
)
def test_bad_cursors_are_400(api, cursor):
    result = api("GET", "/api/feedback/replay", params={"cursor": cursor})
    assert result.status == 400
    assert "cursor" in result.body["message"]


def test_a_cursor_from_another_filter_is_refused(api):
    for _ in range(3):
        api("POST", "/api/feedback-replay", body={**DRAFT, "feedback": "no"})
    cursor = api("GET", "/api/feedback/replay", params={"limit": 1}).body["nextCursor"]
    assert cursor
    result = api("GET", "/api/feedback/replay", params={"verdict": "no", "cursor": cursor})
    assert result.status == 400


def test_a_reversed_range_is_400(api):
    result = api("GET", "/api/feedback/analytics", params={"from": "2026-11-10", "to": "2026-11-01"})
    assert result.status == 400
    assert "after" in result.body["message"]
