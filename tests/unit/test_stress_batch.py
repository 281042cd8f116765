"""Batch stress tests, the pure parts: request lines, results by custom_id, error lines, cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx2
import openai
import pytest

from replyloop.adapters.llm import LlmSettings, LlmUnavailableError, OpenAILlm, structured_body
from replyloop.adapters.redaction import redact
from replyloop.domain.learning import judge_messages
from replyloop.domain.prompts import Exemplar, PromptVersion, build_draft_messages
from replyloop.domain.runs import StressRun
from replyloop.domain.stress_batch import (
    BatchQuery,
    BatchState,
    Reply,
    collect,
    custom_id,
    parse_custom_id,
    read_results,
    request_line,
)
from replyloop.domain.versions import AssistantVersion, VersionStatus
from replyloop.models.llm import JudgeScores
from replyloop.services import stress_batch
from replyloop.services.stress_batch import BatchDeps, build_cases, draft_lines, judge_lines

NOW = datetime(2026, 11, 23, tzinfo=UTC)
RUN = StressRun("r1", "v1", "v2", "manual", 0, "running", "batch", "2026-11-23T00:00:00Z")


def output_line(custom: str, content: str, model: str = "gpt-4o-mini", tokens: tuple[int, int] = (10, 5)) -> str:
    body = {
        "id": "chatcmpl-1",
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": tokens[0], "completion_tokens": tokens[1], "total_tokens": sum(tokens)},
    }
    return json.dumps({"id": "r", "custom_id": custom, "response": {"status_code": 200, "body": body}, "error": None})


def test_custom_ids_name_the_kind_the_version_and_the_case():
    assert custom_id("draft", "baseline", "q7") == "draft:baseline:q7"
    assert parse_custom_id("judge:candidate:abc-1") == ("judge", "candidate", "abc-1")
    assert parse_custom_id("draft:other:q1") is None
    assert parse_custom_id("draft:baseline:") is None
    assert parse_custom_id("nonsense") is None


def test_a_request_line_is_one_json_line_for_the_chat_completions_endpoint():
    line = request_line("draft:baseline:q1", {"model": "m", "messages": []})
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line) == {
        "custom_id": "draft:baseline:q1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "m", "messages": []},
    }


def test_results_are_mapped_by_custom_id_whatever_their_order_and_errors_say_why():
    lines = [
        output_line("draft:candidate:q1", " cand "),
        "",
        "not json",
        json.dumps({"no": "custom id"}),
        json.dumps(
            {
                "custom_id": "draft:baseline:q2",
                "response": {"status_code": 400, "body": {"error": {"code": "bad", "message": "too long"}}},
                "error": None,
            }
        ),
        json.dumps(
            {"custom_id": "draft:candidate:q2", "response": None, "error": {"code": "batch_expired", "message": "x"}}
        ),
        output_line("draft:baseline:q1", "base").encode(),
    ]
    results = read_results(lines)
    assert set(results) == {"draft:candidate:q1", "draft:baseline:q1", "draft:baseline:q2", "draft:candidate:q2"}
    assert results["draft:baseline:q1"].body is not None and results["draft:baseline:q1"].error is None
    assert results["draft:baseline:q2"].error == "HTTP 400: bad: too long"
    assert results["draft:candidate:q2"].error == "batch_expired: x"

    drafts, errors = collect("draft", ["q1", "q2", "q3"], results, missing="the batch expired")
    assert drafts == {
        "q1": {
            "baseline": Reply("base", "gpt-4o-mini", 10, 5),
            "candidate": Reply("cand", "gpt-4o-mini", 10, 5),  # stripped, as the live path strips
        }
    }
    assert errors == {
        "q2": "draft by the baseline: HTTP 400: bad: too long",
        "q3": "draft by the baseline: the batch expired",
    }


def test_a_refusal_or_an_empty_answer_is_an_error_not_a_reply():
    refused = json.loads(output_line("judge:baseline:q1", ""))
    refused["response"]["body"]["choices"][0]["message"]["refusal"] = "I cannot"
    empty = json.loads(output_line("judge:candidate:q1", ""))
    empty["response"]["body"]["choices"] = []
    found, errors = collect("judge", ["q1"], read_results([json.dumps(refused), json.dumps(empty)]), "missing")
    assert found == {}
    assert errors == {"q1": "judge by the baseline: the model refused: I cannot"}


@pytest.mark.parametrize(
    ("status", "problem"),
    [
        ("completed", None),
        ("expired", None),  # what finished is used
        ("failed", "Batch b1 failed: line 3: bad."),
        ("cancelled", "Batch b1 was cancelled."),
        ("cancelling", "Batch b1 was cancelled."),
        ("paused", "Batch b1 is in an unknown state 'paused'."),
    ],
)
def test_which_batch_states_end_the_run(status, problem):
    state = BatchState("b1", status, errors=("line 3: bad",))
    assert state.problem() == problem
    assert not state.running
    assert BatchState("b1", "in_progress").running and BatchState("b1", "finalizing").running


class FakeRegistry:
    def __init__(self) -> None:
        self.prompts = {
            1: PromptVersion("reply", 1, "Be helpful.", NOW),
            2: PromptVersion("reply", 2, "Be specific.", NOW, exemplars=(Exemplar("charged twice", "Refunded."),)),
        }

    def get_version(self, tag: str) -> AssistantVersion | None:
        number = {"v1": 1, "v2": 2}.get(tag)
        if number is None:
            return None
        return AssistantVersion(tag, f"model-{tag}", "reply", number, VersionStatus.ACTIVE, NOW)

    def get_prompt_version(self, name: str, version: int) -> PromptVersion | None:
        return self.prompts.get(version)


def test_draft_lines_build_both_versions_prompts_as_the_live_path_does():
    deps = BatchDeps(log=None, registry=FakeRegistry(), settings=LlmSettings(), batches=None, now=NOW, redactor=redact)  # type: ignore[arg-type]
    lines = [json.loads(line) for line in draft_lines(deps, RUN, [BatchQuery("q1", "I was charged twice")])]
    assert [line["custom_id"] for line in lines] == ["draft:baseline:q1", "draft:candidate:q1"]
    candidate = lines[1]["body"]
    assert candidate["model"] == "model-v2"
    assert candidate["messages"] == build_draft_messages(FakeRegistry().prompts[2], "I was charged twice")
    assert candidate["temperature"] == 0.0 and candidate["max_completion_tokens"] == LlmSettings().max_reply_tokens
    assert "logprobs" not in candidate


def test_judge_lines_send_exactly_what_the_live_judge_sends():
    """Same rubric: the batch body equals the request the SDK makes for `structured(..., JudgeScores)`."""
    sent: list[dict] = []

    def capture(request: httpx2.Request) -> httpx2.Response:
        sent.append(json.loads(request.read()))
        content = json.dumps({"accuracy": 5, "completeness": 5, "tone": 5, "helpfulness": 5, "comments": "ok"})
        return httpx2.Response(
            200,
            json={
                "id": "c",
                "object": "chat.completion",
                "created": 0,
                "model": "gpt-4o-mini",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
            },
        )

    sdk = openai.OpenAI(
        api_key="x", base_url="http://t.invalid/v1", http_client=httpx2.Client(transport=httpx2.MockTransport(capture))
    )
    settings = LlmSettings()
    OpenAILlm(sdk, "test").structured(
        judge_messages("msg", "the draft", "ref"), model=settings.draft_model, output=JudgeScores
    )
    drafts = {"q1": {"baseline": Reply("the draft", "m", 1, 1), "candidate": Reply("other", "m", 1, 1)}}
    lines = [
        json.loads(line)
        for line in judge_lines(
            settings, [BatchQuery("q1", "msg", "ref"), BatchQuery("q2", "x")], drafts, structured_body
        )
    ]
    assert [line["custom_id"] for line in lines] == ["judge:baseline:q1", "judge:candidate:q1"]  # q2 has no drafts
    live = {key: value for key, value in sent[0].items() if key != "stream"}  # the SDK's `stream: false`
    assert lines[0]["body"] == live


def test_cases_combine_drafts_and_judgements_at_batch_prices():
    settings = LlmSettings(LLM_PRICES='{"gpt-4o-mini": [1.0, 2.0]}')
    scores = {"accuracy": 8, "completeness": 8, "tone": 8, "helpfulness": 8, "comments": "good"}
    low = {**scores, "accuracy": 4, "completeness": 4, "tone": 4, "helpfulness": 4, "comments": "weak"}
    drafts = {
        case: {"baseline": Reply("b", "gpt-4o-mini", 1000, 500), "candidate": Reply("c", "gpt-4o-mini", 1000, 500)}
        for case in ("q1", "q2")
    }
    judgements = {
        "q1": {
            "baseline": Reply(json.dumps(low), "gpt-4o-mini", 0, 0),
            "candidate": Reply(json.dumps(scores), "gpt-4o-mini", 0, 0),
        },
        "q2": {"baseline": Reply("not json", "gpt-4o-mini", 0, 0), "candidate": Reply("{}", "gpt-4o-mini", 0, 0)},
    }
    queries = [BatchQuery("q1", "m1", interaction_id="i1"), BatchQuery("q2", "m2"), BatchQuery("q3", "m3")]
    cases, errors = build_cases(settings, RUN, queries, drafts, judgements)
    (case,) = cases
    assert (case.case_id, case.interaction_id, case.baseline_reply, case.candidate_reply) == ("q1", "i1", "b", "c")
    assert (case.baseline_score, case.candidate_score, case.outcome) == (4.0, 8.0, "win")
    assert case.comments == "v1: weak | v2: good"
    assert case.tokens == 3000
    # Two drafts of 1000 in / 500 out at $1 / $2 per million = $0.004; the Batch API halves it.
    assert case.cost_usd == pytest.approx(0.002)
    assert set(errors) == {"q2"}  # the first failing judgement is the reason given
    assert errors["q2"].startswith("judge by the baseline: not valid JudgeScores (Invalid JSON")


def test_a_run_in_live_mode_cannot_be_polled():
    class Log:
        def get_run(self, run_id):
            return StressRun(run_id, "v1", "v2", "manual", 0, "running", "live", "2026-11-23T00:00:00Z")

    deps = BatchDeps(log=Log(), registry=None, settings=LlmSettings(), batches=None, now=NOW, redactor=redact)  # type: ignore[arg-type]
    from replyloop.domain.errors import ConflictError

    with pytest.raises(ConflictError, match="live run"):
        stress_batch.poll(deps, "r1")


def test_the_batches_adapter_finds_this_runs_batch_by_metadata_and_not_a_cancelled_one():
    from replyloop.adapters.batches import OpenAIBatches
    from replyloop.local import offline_model

    sdk = openai.OpenAI(
        api_key="offline",
        base_url="http://offline.invalid/v1",
        http_client=httpx2.Client(transport=offline_model.transport()),
        max_retries=0,
    )
    batches = OpenAIBatches(sdk)
    line = request_line("draft:baseline:q1", {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    run = {"replyloop_stress_test": "find-me", "replyloop_stage": "drafting"}
    made = batches.submit("in.jsonl", iter([line]), run)
    assert made.status == "validating"
    batches.submit("in.jsonl", iter([line]), {**run, "replyloop_stage": "judging"})
    cancelled = batches.submit("in.jsonl", iter([line]), run)
    batches.cancel(cancelled.batch_id)

    assert batches.find(run, since=0).batch_id == made.batch_id  # type: ignore[union-attr]
    assert batches.find({**run, "replyloop_stress_test": "other"}, since=0) is None
    assert batches.find(run, since=2**40) is None  # only batches made since the run began are looked at

    for _ in range(3):
        state = batches.retrieve(made.batch_id)
    assert (state.status, state.total, state.completed) == ("completed", 1, 1)
    (result,) = read_results(batches.lines(state.output_file_id)).values()
    assert result.custom_id == "draft:baseline:q1" and result.body is not None

    with pytest.raises(LlmUnavailableError, match="Batch API refused"):
        batches.retrieve("batch_missing")
