"""The local SQS poller follows the event source mapping's rules, read from the template."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from replyloop.local.gateway import FunctionRunner
from replyloop.local.pollers import QueuePoller
from replyloop.local.provision import provision

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "poller" / "template.yaml"


@pytest.fixture
def queues(monkeypatch):
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        provisioned = provision(FIXTURE, session)
        for key, value in provisioned.shared_environment().items():
            monkeypatch.setenv(key, value)
        sqs = session.client("sqs")
        (source,) = provisioned.queue_sources
        poller = QueuePoller(
            sqs,
            source,
            provisioned.queues[source.queue_logical_id],
            FunctionRunner(provisioned.functions),
            wait_seconds=0,
        )
        yield provisioned, sqs, poller


def _bodies(sqs, url):
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return sorted(m["Body"] for m in messages)


def test_the_template_configures_the_mapping(queues):
    provisioned, _, poller = queues
    assert poller.source.batch_size == 5
    assert poller.source.report_batch_item_failures
    work = provisioned.queues["WorkQueue"]
    assert work.max_receive_count == 2
    assert work.dead_letter_arn == provisioned.queues["WorkDLQ"].arn


def test_successes_are_deleted_and_failures_go_to_the_dlq_after_max_receives(queues):
    provisioned, sqs, poller = queues
    work, dlq, done = (provisioned.queues[n].url for n in ("WorkQueue", "WorkDLQ", "DoneQueue"))
    for body in ("a", "poison", "b"):
        sqs.send_message(QueueUrl=work, MessageBody=body)

    assert poller.poll_once() == 3
    assert _bodies(sqs, done) == ["a", "b"]

    # The poison message comes back after the visibility timeout (1 s) and fails again; on the
    # receive after maxReceiveCount (2) the queue's redrive policy moves it to the DLQ.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        poller.poll_once()
        dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
        if dead:
            break
        time.sleep(0.2)
    assert [m["Body"] for m in dead] == ["poison"]
    attributes = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_an_invocation_error_keeps_the_whole_batch(queues, monkeypatch):
    provisioned, sqs, poller = queues
    work = provisioned.queues["WorkQueue"].url
    sqs.send_message(QueueUrl=work, MessageBody="a")

    def crash(function, event):
        raise RuntimeError("function crashed")

    errors = []
    monkeypatch.setattr(poller.runner, "invoke", crash)
    poller.on_error = errors.append
    assert poller.poll_once() == 1
    assert errors and "function crashed" in errors[0]
    attributes = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"


def test_an_unknown_item_identifier_fails_the_whole_batch(queues, monkeypatch):
    provisioned, sqs, poller = queues
    work = provisioned.queues["WorkQueue"].url
    sqs.send_message(QueueUrl=work, MessageBody="a")
    monkeypatch.setattr(
        poller.runner, "invoke", lambda function, event: {"batchItemFailures": [{"itemIdentifier": "nope"}]}
    )
    poller.poll_once()
    attributes = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
