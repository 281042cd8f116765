"""Sharded day counters and `TransactionConflict` (injected: moto never raises it) through the api handler."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from boto3.dynamodb.conditions import Key

from replyloop import wiring
from replyloop.adapters.keys import COUNTER_SHARDS, counter_shard, day_sk
from replyloop.services import capture
from tests.conflicts import FirstConflicts

DRAFT = {"message": "Where is order 123?", "aiReply": "Shipping takes 3-5 days.", "assistantVersion": "v1"}
TODAY = datetime.now(UTC).date()


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch):
    """The retry policy as configured, without sleeping; the pauses it asked for are kept."""
    pauses: list[float] = []
    monkeypatch.setattr(capture, "RETRY", replace(capture.RETRY, sleep=pauses.append))
    return pauses


def conflicts(count):
    return FirstConflicts(wiring.get_store()._client, count)


def analytics(api):
    result = api("GET", "/api/feedback/analytics")
    assert result.status == 200, result.body
    return result.body


def stats_items(pk="STATS#ALL"):
    table = wiring.get_store()._table
    return table.query(KeyConditionExpression=Key("pk").eq(pk))["Items"]


def test_counters_land_in_the_interactions_shard_and_a_changed_verdict_moves_within_it(api):
    created = api("POST", "/api/interactions", body=DRAFT).body["interactionId"]
    path = f"/api/interactions/{created}/feedback"
    api("POST", path, body={"useful": True})
    api("POST", path, body={"useful": True})  # the same verdict again counts nothing
    api("POST", path, body={"useful": False, "agentReply": "Mine."})
    shard_sk = f"{day_sk(TODAY)}#S{counter_shard(created):02d}"
    for pk in ("STATS#ALL", "STATS#VERSION#external"):  # recorded by a frontend: counted as external
        (item,) = stats_items(pk)
        assert item["sk"] == shard_sk
        assert (item["interactions"], item["total"], item["useful"], item["notUseful"]) == (1, 1, 0, 1)


def test_a_day_is_the_sum_of_its_shards_and_of_an_unsharded_item_written_before_sharding(api, dynamodb_calls):
    for _ in range(40):
        assert api("POST", "/api/feedback-replay", body={**DRAFT, "feedback": "yes"}).status == 201
    assert len({item["sk"] for item in stats_items()}) > 1  # 40 interactions spread over the shards
    assert all(int(item["sk"].rsplit("#S", 1)[1]) < COUNTER_SHARDS for item in stats_items())
    wiring.get_store()._table.put_item(  # what a table deployed before sharding holds
        Item={"pk": "STATS#ALL", "sk": day_sk(TODAY), "interactions": 2, "total": 2, "useful": 1, "notUseful": 1}
    )
    dynamodb_calls.clear()
    body = analytics(api)
    assert dynamodb_calls == ["Query", "Query", "Query"]  # still one query per counter family
    assert (body["interactions"], body["total"], body["usefulCount"], body["notUsefulCount"]) == (42, 42, 41, 1)
    (today,) = [day for day in body["dailyBreakdown"] if day["total"]]
    assert today["total"] == 42


def test_a_conflicted_verdict_is_retried_and_counted_once(api, no_pauses):
    created = api("POST", "/api/interactions", body=DRAFT).body["interactionId"]
    injected = conflicts(2)
    result = api("POST", f"/api/interactions/{created}/feedback", body={"useful": False})
    assert result.status == 200, result.body
    assert (injected.cancelled, injected.passed) == (2, 1)
    assert len(no_pauses) == 2 and all(0 <= pause <= capture.RETRY.cap_seconds for pause in no_pauses)
    body = analytics(api)
    assert (body["interactions"], body["total"], body["notUsefulCount"]) == (1, 1, 1)
    assert api("GET", f"/api/interactions/{created}").body["feedback"]["revision"] == 1


def test_exhausted_retries_answer_503_with_retry_after_and_count_nothing(api):
    created = api("POST", "/api/interactions", body=DRAFT).body["interactionId"]
    injected = conflicts(1000)
    result = api("POST", f"/api/interactions/{created}/feedback", body={"useful": True})
    assert result.status == 503, result.body
    assert result.headers["Retry-After"] == str(capture.RETRY.retry_after_seconds)
    assert injected.cancelled == capture.RETRY.attempts
    logged = api("POST", "/api/feedback-replay", body={**DRAFT, "feedback": "no"})
    assert (logged.status, logged.headers["Retry-After"]) == (503, "1")
    assert api("POST", "/api/interactions", body=DRAFT).status == 503
    injected.remaining = 0
    assert api("GET", f"/api/interactions/{created}").body["feedback"] is None
    body = analytics(api)
    assert (body["interactions"], body["total"]) == (1, 0)  # only the interaction recorded before


def test_the_one_call_feedback_log_and_a_recorded_interaction_survive_conflicts(api):
    conflicts(3)
    assert api("POST", "/api/feedback-replay", body={**DRAFT, "feedback": "no", "agentReply": "Mine."}).status == 201
    conflicts(3)
    assert api("POST", "/api/interactions", body=DRAFT).status == 201
    body = analytics(api)
    assert (body["interactions"], body["total"], body["notUsefulCount"], body["overrideCount"]) == (2, 1, 1, 1)


@pytest.fixture
def llm_calls(stack, monkeypatch):
    """Every call the api makes to the (offline) model."""
    llm = wiring.get_llm()
    calls: list[dict] = []
    original = llm.complete

    def counted(messages, **kwargs):
        calls.append(kwargs)
        return original(messages, **kwargs)

    monkeypatch.setattr(llm, "complete", counted)
    return calls


def test_a_draft_whose_write_conflicts_calls_the_model_once(api, llm_calls):
    injected = conflicts(3)
    result = api("POST", "/api/replies", body={"message": "I was charged twice this month, please refund one"})
    assert result.status == 201, result.body
    assert len(llm_calls) == 1  # the write was retried, never the paid call
    assert injected.cancelled == 3
    assert analytics(api)["interactions"] == 1


def test_a_draft_that_cannot_be_written_is_a_503_after_one_model_call(api, llm_calls):
    conflicts(1000)
    result = api("POST", "/api/replies", body={"message": "I was charged twice this month, please refund one"})
    assert result.status == 503, result.body
    assert result.headers["Retry-After"] == "1"
    assert len(llm_calls) == 1
