"""Timeouts that fit: the budget arithmetic, the SDK options a call gets, and the template's numbers."""

from __future__ import annotations

import httpx2
import openai
import pytest
from openai import _constants as sdk

from replyloop.adapters.llm import INITIAL_RETRY_DELAY, MAX_RETRY_DELAY, OpenAILlm
from replyloop.domain.deadline import CallBudget, Deadline, backoff_total, fit_call
from replyloop.domain.errors import LlmUnavailableError
from replyloop.local.template import function_globals, load_template, resources_of_type
from tests.conftest import TEMPLATE

SDK_BACKOFF = {"initial_backoff": INITIAL_RETRY_DELAY, "max_backoff": MAX_RETRY_DELAY}


def fit(seconds_left, timeout, retries, min_attempt=3.0):
    return fit_call(
        seconds_left, timeout_seconds=timeout, max_retries=retries, min_attempt_seconds=min_attempt, **SDK_BACKOFF
    )


# -- the arithmetic ---------------------------------------------------------------------------------------


def test_our_backoff_figures_are_the_sdks():
    assert (INITIAL_RETRY_DELAY, MAX_RETRY_DELAY) == (sdk.INITIAL_RETRY_DELAY, sdk.MAX_RETRY_DELAY)
    assert backoff_total(0, 0.5, 8) == 0
    assert backoff_total(3, 0.5, 8) == 0.5 + 1 + 2
    assert backoff_total(6, 0.5, 8) == 0.5 + 1 + 2 + 4 + 8 + 8  # capped


def test_plenty_of_time_keeps_the_configuration():
    assert fit(600, timeout=8, retries=2) == CallBudget(timeout_seconds=8, max_retries=2)


def test_the_workers_four_attempts_of_20_s_are_shrunk_into_58_s():
    # The figures: 20 s x 4 attempts could not fit a 60 s function (less the 2 s margin).
    budget = fit(58, timeout=20, retries=3)
    assert budget.max_retries == 3
    assert budget.timeout_seconds == pytest.approx((58 - 3.5) / 4)
    assert budget.worst_case_seconds(**SDK_BACKOFF) == pytest.approx(58)


def test_the_apis_three_attempts_of_8_s_fit_its_27_s():
    assert fit(27, timeout=8, retries=2) == CallBudget(timeout_seconds=8, max_retries=2)
    # ... and the sampling call after a slow first one gets what is left: one attempt, shorter.
    assert fit(6, timeout=8, retries=2) == CallBudget(timeout_seconds=6, max_retries=0)


def test_retries_are_dropped_before_an_attempt_gets_too_short():
    assert fit(8, timeout=20, retries=3) == CallBudget(timeout_seconds=3.75, max_retries=1)
    assert fit(5.9, timeout=20, retries=3) == CallBudget(timeout_seconds=5.9, max_retries=0)


def test_no_call_when_not_even_one_attempt_fits():
    assert fit(2.9, timeout=20, retries=3) is None
    assert fit(0, timeout=20, retries=0) is None


@pytest.mark.parametrize("seconds_left", [3, 4.5, 9.9, 17, 27, 58, 120, 900])
@pytest.mark.parametrize(("timeout", "retries"), [(8, 2), (20, 3), (600, 1), (1, 10)])
def test_the_worst_case_never_outlasts_the_deadline(seconds_left, timeout, retries):
    budget = fit(seconds_left, timeout, retries)
    assert budget is not None
    assert budget.worst_case_seconds(**SDK_BACKOFF) <= seconds_left + 1e-9
    assert budget.timeout_seconds <= timeout
    assert budget.max_retries <= retries


def test_a_deadline_reads_the_clock_each_time_and_keeps_its_margin():
    remaining = iter([10_000, 4_000, 1_000])
    deadline = Deadline(lambda: next(remaining), margin_seconds=2)
    assert [deadline.seconds_left() for _ in range(3)] == [8.0, 2.0, 0.0]


# -- what the SDK is told ---------------------------------------------------------------------------------


def recording_llm(status=500, timeout=20.0, max_retries=3):
    seen = []

    def answer(request):
        seen.append(request.extensions.get("timeout"))
        return httpx2.Response(status, headers={"retry-after-ms": "1"}, json={"error": {"message": "down"}})

    client = openai.OpenAI(
        api_key="k",
        base_url="https://llm.test/v1",
        timeout=timeout,
        max_retries=max_retries,
        http_client=httpx2.Client(transport=httpx2.MockTransport(answer)),
    )
    return OpenAILlm(client, "recording"), seen


def complete(llm):
    return llm.complete([{"role": "user", "content": "hi"}], model="m", temperature=0, logprobs=False)


def test_without_a_deadline_a_call_gets_the_configured_timeout_and_retries():
    llm, seen = recording_llm(max_retries=2)
    with pytest.raises(LlmUnavailableError):
        complete(llm)
    assert len(seen) == 3
    assert seen[0]["read"] == 20.0


def test_a_short_deadline_gets_a_shorter_timeout_and_no_retries():
    llm, seen = recording_llm()
    with pytest.raises(LlmUnavailableError, match="overloaded"):
        complete(llm.within(Deadline(lambda: 7_000, margin_seconds=2)))
    assert len(seen) == 1  # 5 s left: one attempt, no retry that could not finish
    assert seen[0]["read"] == pytest.approx(5.0)


def test_an_exhausted_deadline_makes_no_call():
    llm, seen = recording_llm()
    with pytest.raises(LlmUnavailableError, match="No time left"):
        complete(llm.within(Deadline(lambda: 4_000, margin_seconds=2)))
    assert seen == []


def test_a_bound_client_leaves_the_shared_one_as_configured():
    llm, seen = recording_llm(max_retries=1)
    llm.within(Deadline(lambda: 7_000, margin_seconds=2))
    with pytest.raises(LlmUnavailableError):
        complete(llm)
    assert len(seen) == 2 and seen[0]["read"] == 20.0


# -- the template -----------------------------------------------------------------------------------------


def sqs_event_sources():
    template = load_template(TEMPLATE)
    queues = resources_of_type(template, "AWS::SQS::Queue")
    default_timeout = function_globals(template).get("Timeout", 3)
    for name, function in resources_of_type(template, "AWS::Serverless::Function").items():
        props = function["Properties"]
        for event in (props.get("Events") or {}).values():
            if event["Type"] == "SQS":
                queue = queues[event["Properties"]["Queue"]["Fn::GetAtt"][0]]["Properties"]
                yield name, props, int(props.get("Timeout", default_timeout)), event["Properties"], queue


def test_every_worker_queue_gives_six_function_timeouts_of_visibility():
    sources = list(sqs_event_sources())
    assert {name for name, *_ in sources} == {"ExplainWorkerFunction", "CorrectWorkerFunction"}
    for name, _, timeout, mapping, queue in sources:
        assert queue["VisibilityTimeout"] >= 6 * timeout, name
        assert mapping["MaximumBatchingWindowInSeconds"] < timeout, name
        assert "ReportBatchItemFailures" in mapping["FunctionResponseTypes"], name


def test_a_full_batch_starts_at_once():
    from replyloop.handlers.workers import RECORD_THREADS

    for name, _, _, mapping, _ in sqs_event_sources():
        assert mapping["BatchSize"] <= RECORD_THREADS, name


def test_each_worker_may_send_to_its_own_dlq_and_knows_its_url():
    template = load_template(TEMPLATE)
    for name, props, _, mapping, _ in sqs_event_sources():
        source = mapping["Queue"]["Fn::GetAtt"][0]
        dlq = template["Resources"][source]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        variables = props["Environment"]["Variables"]
        assert {"Ref": dlq} in variables.values(), name
        policies = [p["SQSSendMessagePolicy"]["QueueName"] for p in props["Policies"] if "SQSSendMessagePolicy" in p]
        assert {"Fn::GetAtt": [dlq, "QueueName"]} in policies, name


@pytest.mark.parametrize("function", ["ApiFunction", "ExplainWorkerFunction", "CorrectWorkerFunction"])
def test_a_fresh_invocation_gives_the_first_call_all_its_configured_attempts(function):
    from replyloop.settings import LlmSettings

    props = load_template(TEMPLATE)["Resources"][function]["Properties"]
    settings = LlmSettings.model_validate(
        {k: v for k, v in props["Environment"]["Variables"].items() if isinstance(v, str)}
    )
    configured = CallBudget(settings.timeout_seconds, settings.max_retries)
    budget = fit(props["Timeout"] - settings.deadline_margin_seconds, settings.timeout_seconds, settings.max_retries)
    assert budget == configured, function
