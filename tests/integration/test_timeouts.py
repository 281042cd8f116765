"""Timeouts that fit, against moto: a short invocation shortens or skips the model call, and a job that can
never succeed goes to its DLQ after one receive with its reason while a transient failure is retried."""

from __future__ import annotations

import json
import time

import boto3
import httpx2
import openai
import pytest

from replyloop.adapters.llm import OpenAILlm
from replyloop.local.pollers import QueuePoller
from replyloop.operations.dlq import QueuePair, peek, replay
from tests.helpers import FakeContext, call, http_event
from tests.integration.test_learning_workers import give_no


class Model:
    """An OpenAI-compatible endpoint that answers `status` and records each attempt's timeout."""

    def __init__(self, status: int, *, timeout: float = 20.0, max_retries: int = 3) -> None:
        self.status = status
        self.timeouts: list[float] = []
        client = openai.OpenAI(
            api_key="k",
            base_url="https://llm.test/v1",
            timeout=timeout,
            max_retries=max_retries,
            http_client=httpx2.Client(transport=httpx2.MockTransport(self.answer)),
        )
        self.llm = OpenAILlm(client, f"answers {status}")

    def answer(self, request: httpx2.Request) -> httpx2.Response:
        self.timeouts.append(request.extensions["timeout"]["read"])
        message = "This request violates the usage policy" if self.status == 400 else "down"
        return httpx2.Response(self.status, headers={"retry-after-ms": "1"}, json={"error": {"message": message}})


class Runner:
    """Invokes the worker as the local poller would, with a Lambda context of `remaining_ms`."""

    def __init__(self, remaining_ms: int = 10_000) -> None:
        self.remaining_ms = remaining_ms

    def invoke(self, function: str, event: dict) -> dict:
        from replyloop.handlers.workers import lambda_handler

        return lambda_handler(event, FakeContext(function_name=function, remaining_ms=self.remaining_ms))


@pytest.fixture
def sqs(stack):
    return boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def explain(stack, sqs):
    source = next(s for s in stack.queue_sources if s.queue_logical_id == "ExplainQueue")
    queue, dead = stack.queues["ExplainQueue"], stack.queues["ExplainDLQ"]

    def poller(remaining_ms: int = 10_000) -> QueuePoller:
        return QueuePoller(sqs, source, queue, Runner(remaining_ms), wait_seconds=0)

    poller.pair = QueuePair("explain", queue.url, queue.arn, dead.url, dead.arn)
    return poller


def counts(sqs, url) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def use(monkeypatch, model: Model) -> None:
    monkeypatch.setattr("replyloop.handlers.workers.get_llm", lambda: model.llm)


# -- the api ----------------------------------------------------------------------------------------------


def draft(remaining_ms: int):
    from replyloop.handlers.api import lambda_handler

    event = http_event("POST", "/api/replies", body={"message": "My parcel has not arrived"})
    return call(lambda_handler, event, FakeContext(remaining_ms=remaining_ms))


def test_the_api_fits_the_draft_in_what_is_left(api, monkeypatch):
    model = Model(500, timeout=8, max_retries=2)
    monkeypatch.setattr("replyloop.handlers.api.assistant.get_llm", lambda: model.llm)
    result = draft(remaining_ms=7_000)  # 5 s after the 2 s margin: one attempt, no retry
    assert result.status == 503
    assert model.timeouts == [pytest.approx(5.0)]


def test_an_exhausted_budget_is_a_503_without_a_model_call(api, monkeypatch):
    model = Model(500)
    monkeypatch.setattr("replyloop.handlers.api.assistant.get_llm", lambda: model.llm)
    result = draft(remaining_ms=4_000)
    assert result.status == 503
    assert "No time left" in result.body["message"]
    assert model.timeouts == []
    assert api("GET", "/api/feedback/analytics").body["interactions"] == 0


# -- the workers ------------------------------------------------------------------------------------------


def test_a_short_invocation_gets_a_shorter_call_and_fewer_retries(api, sqs, stack, explain, monkeypatch):
    give_no(api)
    model = Model(500, timeout=20, max_retries=3)
    use(monkeypatch, model)
    assert explain(remaining_ms=9_000).poll_once() == 1
    # 7 s left: two attempts of 3.25 s (with the 0.5 s backoff) fit, four of 20 s would not.
    assert model.timeouts == [pytest.approx(3.25)] * 2
    assert counts(sqs, explain.pair.dlq_url) == (0, 0)


def test_a_job_not_started_for_lack_of_time_is_handed_back(api, sqs, stack, explain, monkeypatch):
    from replyloop.wiring import get_job_failures

    give_no(api)
    model = Model(500)
    use(monkeypatch, model)
    poller = explain(remaining_ms=4_000)  # 2 s left, a job needs JOB_MIN_SECONDS (5)
    (message,) = poller._receive_batch()
    result = poller.runner.invoke("ExplainWorkerFunction", {"Records": [record(message, explain.pair.source_arn)]})
    assert result["batchItemFailures"] == [{"itemIdentifier": message["MessageId"]}]
    assert model.timeouts == []
    assert "JobDeferredError" in get_job_failures().job_failure(message["MessageId"])["error"]
    assert counts(sqs, explain.pair.dlq_url) == (0, 0)


def record(message: dict, arn: str) -> dict:
    from replyloop.local.pollers import sqs_record

    return sqs_record(message, arn, "us-east-1")


def test_a_refused_job_goes_to_the_dlq_after_one_receive_with_its_reason(api, sqs, stack, explain, monkeypatch):
    interaction_id = give_no(api)
    refusing = Model(400)
    with monkeypatch.context() as patch:
        use(patch, refusing)
        assert explain().poll_once() == 1
    assert len(refusing.timeouts) == 1  # a 400 is not retried by the SDK, nor by SQS
    assert counts(sqs, explain.pair.source_url) == (0, 0)
    (dead,) = peek(sqs, explain.pair.dlq_url, 10)
    assert json.loads(dead.body)["interactionId"] == interaction_id
    assert dead.reason.startswith("LlmRefusedError: The model refused the request")
    assert "usage policy" in dead.reason

    # Once the operator replays it, the job runs: the refused attempt left no idempotency record behind.
    assert replay(sqs, explain.pair) == (1, "copy")
    assert explain().poll_once() == 1
    assert api("GET", f"/api/interactions/{interaction_id}").body["failureCategory"]
    assert peek(sqs, explain.pair.dlq_url, 10) == []


@pytest.mark.parametrize(
    "body", ["{not json", json.dumps({"interactionId": "x", "step": "dance", "revision": 1})], ids=["json", "step"]
)
def test_a_malformed_job_goes_to_the_dlq_at_once(stack, sqs, explain, body):
    sqs.send_message(QueueUrl=explain.pair.source_url, MessageBody=body)
    assert explain().poll_once() == 1
    assert counts(sqs, explain.pair.source_url) == (0, 0)
    (dead,) = peek(sqs, explain.pair.dlq_url, 10)
    assert dead.body == body
    assert dead.reason.startswith("ValueError: Not a job message")


def test_a_transient_failure_is_retried_not_dead_lettered(api, sqs, stack, explain, monkeypatch):
    interaction_id = give_no(api)
    sqs.set_queue_attributes(QueueUrl=explain.pair.source_url, Attributes={"VisibilityTimeout": "1"})
    down = Model(500, max_retries=0)
    with monkeypatch.context() as patch:
        use(patch, down)
        assert explain().poll_once() == 1
        assert counts(sqs, explain.pair.dlq_url) == (0, 0)
        assert sum(counts(sqs, explain.pair.source_url)) == 1  # still queued, back after its visibility timeout
        deadline = time.monotonic() + 10
        while len(down.timeouts) < 2 and time.monotonic() < deadline:
            explain().poll_once()
        assert len(down.timeouts) == 2  # received and tried again
    assert counts(sqs, explain.pair.dlq_url) == (0, 0)
    deadline = time.monotonic() + 10
    while counts(sqs, explain.pair.source_url) != (0, 0) and time.monotonic() < deadline:
        explain().poll_once()
    assert api("GET", f"/api/interactions/{interaction_id}").body["failureCategory"]


def test_dlq_show_prints_why_a_job_was_dead_lettered(stack, sqs, explain, monkeypatch):
    import importlib

    from click.testing import CliRunner

    cli = importlib.import_module("replyloop.cli.dlq")  # the package's `dlq` is the click group

    sqs.send_message(QueueUrl=explain.pair.source_url, MessageBody="{not json")
    assert explain().poll_once() == 1

    class Connection:
        description = "moto"
        queue_urls = {"explain": (explain.pair.source_url, explain.pair.dlq_url)}

        def client(self, name):
            return sqs

        def last_error(self, message_id):
            return None

    monkeypatch.setattr(cli, "_connect", lambda stack_name: Connection())
    shown = CliRunner().invoke(cli.dlq, ["show", "--queue", "explain"])
    assert shown.exit_code == 0, shown.output
    assert "tried 1x" in shown.output
    assert "dead-lettered at once: ValueError: Not a job message" in shown.output
    as_json = CliRunner().invoke(cli.dlq, ["show", "--queue", "explain", "--json"])
    assert json.loads(as_json.output)["reason"].startswith("ValueError: Not a job message")
