"""DLQ inspection and replay (the copy path: moto has no StartMessageMoveTask)."""

from __future__ import annotations

import json

import boto3
import pytest

from replyloop.operations.dlq import QueuePair, depth, peek, replay


@pytest.fixture
def pair(stack):
    sqs = boto3.client("sqs", region_name="us-east-1")
    source, dead = stack.queues["ExplainQueue"], stack.queues["ExplainDLQ"]
    return sqs, QueuePair("explain", source.url, source.arn, dead.url, dead.arn)


def test_peek_shows_dead_messages_and_leaves_them(pair):
    sqs, queues = pair
    for index in range(3):
        sqs.send_message(QueueUrl=queues.dlq_url, MessageBody=json.dumps({"interactionId": f"i{index}"}))
    errors = {}
    seen = peek(sqs, queues.dlq_url, 10, lambda message_id: errors.setdefault(message_id, f"boom {message_id}"))
    assert sorted(m.job["interactionId"] for m in seen) == ["i0", "i1", "i2"]
    assert all(m.last_error == f"boom {m.message_id}" for m in seen)
    assert depth(sqs, queues.dlq_url) == 3
    again = sqs.receive_message(QueueUrl=queues.dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert len(again) == 3  # visible again straight away


def test_replay_copies_then_deletes_and_reports_progress(pair):
    sqs, queues = pair
    bodies = [json.dumps({"interactionId": f"i{index}", "step": "explain", "revision": 1}) for index in range(13)]
    for body in bodies:
        sqs.send_message(QueueUrl=queues.dlq_url, MessageBody=body)
    progress = []
    moved, method = replay(sqs, queues, progress.append)
    assert (moved, method) == (13, "copy")
    assert progress[-1] == 13
    assert depth(sqs, queues.dlq_url) == 0
    replayed = []
    while got := sqs.receive_message(QueueUrl=queues.source_url, MaxNumberOfMessages=10).get("Messages", []):
        replayed += [m["Body"] for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=queues.source_url, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(replayed) == sorted(bodies)


def test_a_failed_send_loses_nothing(pair, monkeypatch):
    sqs, queues = pair
    sqs.send_message(QueueUrl=queues.dlq_url, MessageBody="{}")

    def refuse(**kwargs):
        raise RuntimeError("source queue unreachable")

    monkeypatch.setattr(sqs, "send_message", refuse)
    with pytest.raises(RuntimeError):
        replay(sqs, queues)
    monkeypatch.undo()
    attributes = sqs.get_queue_attributes(QueueUrl=queues.dlq_url, AttributeNames=["All"])["Attributes"]
    assert (
        int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 1
    )
