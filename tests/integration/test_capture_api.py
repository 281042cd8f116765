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
    assert (body["assistantVersion"], body["source"], body["externalVersion"]) == ("external", "external", "v1")
    assert (body["confidence"], body["confidenceSource"]) == (0.42, "external")
    assert body["createdBy"] == "tester"
    assert body["feedback"] is None
    assert analytics(api)["interactions"] == 1


def test_version_defaults_to_external(api):
    interaction_id = record(api, assistantVersion=None, confidence=None)
    view = api("GET", f"/api/interactions/{interaction_id}").body
    assert (view["assistantVersion"], view["externalVersion"], view["confidenceSource"]) == ("external", None, None)


def test_a_frontends_version_tag_never_counts_for_that_registered_version(api):
    drafted = api("POST", "/api/replies", body={"message": "Where is order 123?"})  # by replyloop, with v1
    assert drafted.status == 201, drafted.body
    assert drafted.body["assistantVersion"] == "v1"
    drafted_id = drafted.body["interactionId"]
    assert api("POST", f"/api/interactions/{drafted_id}/feedback", body={"useful": True}).status == 200
    before = analytics(api, version="v1")

    external = api("POST", "/api/feedback-replay", body={**DRAFT, "assistantVersion": "v1", "feedback": "no"})
    assert external.status == 201, external.body
    assert external.body["assistantVersion"] == "external"
    recorded = record(api, assistantVersion="v1")

    after = analytics(api, version="v1")
    assert (after["interactions"], after["total"], after["usefulCount"], after["notUsefulCount"]) == (1, 1, 1, 0)
    assert after == before
    assert api("GET", "/api/feedback/replay", params={"version": "v1"}).body["items"][0]["interactionId"] == drafted_id
    outside = analytics(api, version="external")
    assert (outside["interactions"], outside["total"], outside["notUsefulCount"]) == (2, 1, 1)

    views = [api("GET", f"/api/interactions/{i}").body for i in (drafted_id, external.body["interactionId"], recorded)]
    assert [(v["source"], v["assistantVersion"], v["externalVersion"]) for v in views] == [
        ("replyloop", "v1", None),
        ("external", "external", "v1"),
        ("external", "external", "v1"),
    ]
    assert [v["confidenceSource"] for v in views] == ["replyloop", "external", "external"]

    # An agent cannot backdate; an admin importing history (`createdAt`) counts under the version it names.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0).isoformat()
    backdated = {**DRAFT, "assistantVersion": "v1", "feedback": "no", "createdAt": yesterday}
    assert api("POST", "/api/feedback-replay", body=backdated).status == 403
    imported = api("POST", "/api/feedback-replay", body=backdated, groups="[admin]")
    assert imported.status == 201, imported.body
    view = api("GET", f"/api/interactions/{imported.body['interactionId']}").body
    assert (view["source"], view["assistantVersion"]) == ("imported", "v1")
    assert analytics(api, version="v1", days=2)["notUsefulCount"] == 1


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


def history(api, interaction_id):
    view = api("GET", f"/api/interactions/{interaction_id}")
    assert view.status == 200, view.body
    return view.body["history"]


def test_every_verdict_is_kept_in_the_history_oldest_first(api):
    interaction_id = record(api)
    path = f"/api/interactions/{interaction_id}/feedback"
    assert history(api, interaction_id) == []

    for body in ({"useful": True}, {"useful": False}, {"useful": False, "agentReply": "It ships today."}):
        assert api("POST", path, body=body).status == 200
    assert api("POST", path, body={"useful": False, "agentReply": "It ships today."}).status == 200  # unchanged

    entries = history(api, interaction_id)
    assert [(e["revision"], e["verdict"], e["agentReply"]) for e in entries] == [
        (1, "yes", None),
        (2, "no", None),
        (3, "no", "It ships today."),
    ]
    assert {e["submittedBy"] for e in entries} == {"tester"}
    assert [e["submittedAt"] for e in entries] == sorted(e["submittedAt"] for e in entries)
    assert set(entries[0]) == {"verdict", "agentReply", "submittedBy", "submittedAt", "revision"}
    stats = analytics(api)
    assert (stats["total"], stats["usefulCount"], stats["notUsefulCount"]) == (1, 0, 1)  # history is not counted


def test_another_agent_may_not_change_a_verdict_and_it_stays_as_it_was(api):
    interaction_id = record(api)
    path = f"/api/interactions/{interaction_id}/feedback"
    assert api("POST", path, body={"useful": True}, username="maria").status == 200

    refused = api("POST", path, body={"useful": False, "agentReply": "Mine."}, username="li")
    assert refused.status == 403
    assert "'maria'" in refused.body["message"] and "reviewer" in refused.body["message"]

    view = api("GET", f"/api/interactions/{interaction_id}").body
    assert (view["feedback"]["verdict"], view["feedback"]["submittedBy"], view["feedback"]["revision"]) == (
        "yes",
        "maria",
        1,
    )
    assert [e["submittedBy"] for e in view["history"]] == ["maria"]
    stats = analytics(api)
    assert (stats["total"], stats["usefulCount"], stats["notUsefulCount"], stats["overrideCount"]) == (1, 1, 0, 0)
    # The same verdict again changes nothing, so it is not refused; the agent's own verdict stays theirs.
    assert api("POST", path, body={"useful": True}, username="li").body["submittedBy"] == "maria"


@pytest.mark.parametrize("groups", ["[reviewer]", "[admin]"])
def test_a_reviewer_or_admin_may_change_another_agents_verdict_and_the_history_keeps_both(api, groups):
    interaction_id = record(api)
    path = f"/api/interactions/{interaction_id}/feedback"
    assert api("POST", path, body={"useful": True}, username="maria").status == 200

    changed = api("POST", path, body={"useful": False, "agentReply": "Mine."}, username="lead", groups=groups)
    assert changed.status == 200, changed.body
    assert (changed.body["verdict"], changed.body["submittedBy"], changed.body["revision"]) == ("no", "lead", 2)
    entries = history(api, interaction_id)
    assert [(e["submittedBy"], e["verdict"], e["revision"]) for e in entries] == [
        ("maria", "yes", 1),
        ("lead", "no", 2),
    ]
    stats = analytics(api)
    assert (stats["total"], stats["usefulCount"], stats["notUsefulCount"], stats["overrideCount"]) == (1, 0, 1, 1)


def test_a_resent_verdict_transaction_never_duplicates_a_history_entry(api, stack):
    from replyloop.domain.auth import Role
    from replyloop.domain.feedback import plan_feedback
    from replyloop.ports import CaptureWrite, ConcurrentChangeError
    from replyloop.wiring import get_store

    interaction_id = record(api)
    store = get_store()
    record_ = store.get_record(interaction_id)
    change = plan_feedback(
        record_.interaction,
        None,
        useful=False,
        agent_reply=None,
        actor="tester",
        roles=frozenset({Role.AGENT}),
        now=datetime.now(UTC),
    )
    write = CaptureWrite(interaction=record_.interaction, is_new_interaction=False, feedback=change)
    store.save_capture(write)
    with pytest.raises(ConcurrentChangeError):
        store.save_capture(write)  # the same transaction again: cancelled whole, nothing written twice
    assert [entry.revision for entry in store.get_record(interaction_id).history] == [1]
    assert analytics(api)["total"] == 1


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
    for useful in (False, True):  # drafted by replyloop with the active version, v1
        drafted = api("POST", "/api/replies", body={"message": "Where is order 123?"}).body
        assert (
            api("POST", f"/api/interactions/{drafted['interactionId']}/feedback", body={"useful": useful}).status == 200
        )
    for version in ("v2", "v2"):  # recorded by a frontend: external, whatever it tags them
        body = {**DRAFT, "assistantVersion": version, "feedback": "yes"}
        assert api("POST", "/api/feedback-replay", body=body).status == 201
    everything, v1, external = analytics(api), analytics(api, version="v1"), analytics(api, version="external")
    assert (everything["total"], everything["usefulCount"]) == (4, 3)
    assert (v1["total"], v1["usefulCount"], v1["assistantVersion"]) == (2, 1, "v1")
    assert (external["total"], external["usefulCount"], external["assistantVersion"]) == (2, 2, "external")
    assert external["topNegativeMessages"] == []
    assert analytics(api, version="v2")["total"] == 0
    assert [m["assistantVersion"] for m in everything["topNegativeMessages"]] == ["v1"]
    assert len(everything["dailyBreakdown"]) == 30


def test_analytics_reads_counters_never_scans(api, dynamodb_calls):
    for _ in range(3):
        api("POST", "/api/feedback-replay", body={**DRAFT, "feedback": "no"})
    dynamodb_calls.clear()
    analytics(api, days=90)
    # the day counters, the latest "no" verdicts, the failure categories per day
    assert dynamodb_calls == ["Query", "Query", "Query"]


def test_a_verdict_is_one_transaction_where_the_interaction_is_known_else_a_read_and_a_transaction(api, dynamodb_calls):
    from replyloop.wiring import get_recent_interactions

    # Given an interaction this process recorded (as the api does for a draft, a record or a replay read),
    interaction_id = record(api)
    dynamodb_calls.clear()
    # when an agent gives a verdict, it is one call: the transaction, conditioned on what is known.
    api("POST", f"/api/interactions/{interaction_id}/feedback", body={"useful": True})
    assert dynamodb_calls == ["TransactWriteItems"]
    dynamodb_calls.clear()
    # A "no" also queues an explain job through the outbox: written in the transaction, cleared once sent.
    api("POST", f"/api/interactions/{interaction_id}/feedback", body={"useful": False})
    assert dynamodb_calls == ["TransactWriteItems", "DeleteItem"]
    # A process that never saw the interaction (another Lambda container) reads it first.
    get_recent_interactions().forget(interaction_id)
    dynamodb_calls.clear()
    api("POST", f"/api/interactions/{interaction_id}/feedback", body={"useful": True})
    assert dynamodb_calls == ["Query", "TransactWriteItems"]
    stats = analytics(api)
    assert (stats["total"], stats["usefulCount"], stats["notUsefulCount"]) == (1, 1, 0)


def test_a_verdict_planned_from_an_out_of_date_copy_is_cancelled_then_read_and_counted_once(api, dynamodb_calls):
    from replyloop.wiring import get_recent_interactions

    recent = get_recent_interactions()
    interaction_id = record(api)
    path = f"/api/interactions/{interaction_id}/feedback"
    stale = recent.get(interaction_id)  # the interaction with no verdict yet
    # Given another container gave a "no" meanwhile (this process still holds the copy without a verdict),
    assert api("POST", path, body={"useful": False}).status == 200
    recent.remember(*stale)
    dynamodb_calls.clear()
    # when a "yes" arrives here, the transaction planned as a first verdict is cancelled (the verdict exists),
    answer = api("POST", path, body={"useful": True})
    assert answer.status == 200, answer.body
    # then the interaction is read and the change written on fresh data,
    assert dynamodb_calls == ["TransactWriteItems", "Query", "TransactWriteItems"]
    assert (answer.body["verdict"], answer.body["revision"]) == ("yes", 2)
    # and the counts moved once: one verdict, now useful.
    stats = analytics(api)
    assert (stats["total"], stats["usefulCount"], stats["notUsefulCount"]) == (1, 1, 0)
    assert [e["verdict"] for e in history(api, interaction_id)] == ["no", "yes"]


def test_a_copy_whose_verdict_names_another_agent_is_checked_on_a_fresh_read(api):
    from replyloop.wiring import get_recent_interactions

    recent = get_recent_interactions()
    interaction_id = record(api)
    path = f"/api/interactions/{interaction_id}/feedback"
    assert api("POST", path, body={"useful": True}, username="maria").status == 200
    maria_s = recent.get(interaction_id)
    # Given a reviewer, li, changed maria's verdict in another container (this one still holds maria's),
    assert api("POST", path, body={"useful": False}, username="li", groups="[reviewer]").status == 200
    recent.remember(*maria_s)
    # when li, now as a plain agent, changes their own verdict here, the copy would refuse it: a fresh read allows it.
    answer = api("POST", path, body={"useful": True}, username="li")
    assert answer.status == 200, answer.body
    assert (answer.body["submittedBy"], answer.body["revision"]) == ("li", 3)


def test_no_verdict_is_written_on_an_interaction_erased_after_this_process_kept_a_copy(api, stack):
    from boto3.dynamodb.conditions import Key

    from replyloop.wiring import get_store

    interaction_id = record(api)
    store = get_store()
    # Given the interaction was deleted elsewhere (an erasure in another container, or the retention's TTL),
    store._table.delete_item(Key={"pk": f"INTERACTION#{interaction_id}", "sk": "INTERACTION"})
    # when a verdict arrives where a copy is still held, then the transaction is cancelled and the answer is 404,
    answer = api("POST", f"/api/interactions/{interaction_id}/feedback", body={"useful": False})
    assert answer.status == 404, answer.body
    # and nothing about it was written: no verdict, no history, no count.
    left = store._table.query(KeyConditionExpression=Key("pk").eq(f"INTERACTION#{interaction_id}"))["Items"]
    assert left == []
    assert analytics(api)["total"] == 0


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
    # History an admin imports (`createdAt`) counts under the version it names.
    v2_no = api("GET", "/api/feedback/replay", params={"verdict": "no", "version": "v2"}).body["items"]
    assert [i["message"] for i in v2_no] == ["m1"]
    v1 = api("GET", "/api/feedback/replay", params={"version": "v1", "order": "oldest"}).body["items"]
    assert [i["message"] for i in v1] == ["m4", "m3"]
    assert api("GET", "/api/feedback/replay", params={"version": "external"}).body["items"] == []
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
