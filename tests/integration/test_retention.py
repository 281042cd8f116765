"""RETENTION_DAYS: everything stored about an interaction carries `expiresAt` (the table's TTL); counters never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from boto3.dynamodb.conditions import Key

from replyloop.caches import clear_all
from tests.integration.test_erasure import no_verdict


def items(stack, pk: str) -> list[dict]:
    table = boto3.resource("dynamodb").Table(stack.shared_environment()["TABLE_NAME"])
    return table.query(KeyConditionExpression=Key("pk").eq(pk))["Items"]


def test_with_a_retention_every_item_of_an_interaction_expires_with_it_and_counters_never(api, stack, monkeypatch):
    monkeypatch.setenv("RETENTION_DAYS", "30")
    clear_all()
    created = datetime(2026, 11, 1, 9, tzinfo=UTC)
    body = {"message": "Parcel lost", "aiReply": "See FAQ.", "createdAt": created.isoformat()}
    interaction_id = api("POST", "/api/interactions", body=body, groups="[admin]").body["interactionId"]
    no_verdict(api, interaction_id)
    stored = items(stack, f"INTERACTION#{interaction_id}")
    assert {item["sk"] for item in stored} >= {"INTERACTION", "FEEDBACK", "VERDICT#000001", "TRAINING_PROMPT"}
    expected = int((created + timedelta(days=30)).timestamp())
    assert all(int(item["expiresAt"]) == expected for item in stored)
    assert all("expiresAt" not in item for item in items(stack, "STATS#ALL"))


def test_without_a_retention_nothing_about_an_interaction_expires(api, stack):
    interaction_id = api("POST", "/api/interactions", body={"message": "Hi", "aiReply": "Hello"}).body["interactionId"]
    assert all("expiresAt" not in item for item in items(stack, f"INTERACTION#{interaction_id}"))
