"""The offline model through the real openai SDK (in-process transport): useful, labelled, honest."""

from __future__ import annotations

import json
import math

import httpx2
import openai
import pytest

from replyloop.adapters.llm import LlmSettings, build_llm
from replyloop.domain.confidence import confidence_from_logprobs
from replyloop.local import offline_model

OFFLINE = LlmSettings(LLM_PROVIDER="offline")

SYSTEM = """Be helpful.
Examples of good replies:
<example>
<customer_message>
I was charged twice for my subscription this month
</customer_message>
<reply>
I refunded the duplicate charge; it shows in 5-7 days.
</reply>
</example>
<example>
<customer_message>
My parcel has not arrived yet
</customer_message>
<reply>
Your parcel is at the depot and arrives tomorrow.
</reply>
</example>"""


def client() -> openai.OpenAI:
    return openai.OpenAI(
        api_key="offline",
        base_url="http://offline.invalid/v1",
        http_client=httpx2.Client(transport=offline_model.transport()),
        max_retries=0,
    )


def ask(message: str, system: str = SYSTEM, **kwargs):
    return client().chat.completions.create(
        model="anything",
        messages=[
            {"role": "system", "content": system},
            {"role": "user", "content": f"<customer_message>\n{message}\n</customer_message>"},
        ],
        **kwargs,
    )


def test_it_answers_from_the_nearest_exemplar_and_says_what_it_is():
    response = ask("Hello, I think I was charged twice this month?", logprobs=True)
    assert response.model == "replyloop-offline"
    assert response.choices[0].message.content == "I refunded the duplicate charge; it shows in 5-7 days."
    assert ask("where is my parcel").choices[0].message.content.startswith("Your parcel is at the depot")


def test_logprobs_carry_how_near_the_exemplar_was():
    near = ask("I was charged twice for my subscription this month", logprobs=True)
    far = ask("charged twice, also the app is slow and my login fails", logprobs=True)
    near_conf = confidence_from_logprobs([t.logprob for t in near.choices[0].logprobs.content])
    far_conf = confidence_from_logprobs([t.logprob for t in far.choices[0].logprobs.content])
    assert near_conf > 0.95
    assert near_conf > far_conf > 0
    assert all(t.logprob <= 0 for t in far.choices[0].logprobs.content)


def test_without_a_near_exemplar_it_holds_with_low_confidence():
    response = ask("Do you have a store in Lisbon?", logprobs=True)
    assert response.choices[0].message.content == offline_model.GENERIC_REPLY
    confidence = confidence_from_logprobs([t.logprob for t in response.choices[0].logprobs.content])
    assert confidence == pytest.approx(offline_model.GENERIC_CONFIDENCE, rel=0.05)


def test_better_exemplars_make_better_drafts():
    """The point of retraining a prompt: the offline model measurably improves with it."""
    bare = ask("Charged twice for my subscription", system="Be helpful.", logprobs=True)
    trained = ask("Charged twice for my subscription", logprobs=True)
    conf = [confidence_from_logprobs([t.logprob for t in r.choices[0].logprobs.content]) for r in (bare, trained)]
    assert conf[1] > conf[0]


def test_no_logprobs_unless_asked_and_usage_is_counted():
    response = ask("My parcel has not arrived yet", n=2)
    assert response.choices[0].logprobs is None
    assert len(response.choices) == 2
    assert response.usage.completion_tokens > 0 and response.usage.prompt_tokens > 0


def test_an_unknown_structured_schema_is_refused_not_invented():
    with pytest.raises(openai.BadRequestError, match="cannot produce the schema"):
        ask("hi", response_format={"type": "json_schema", "json_schema": {"name": "mystery", "schema": {}}})


def test_models_and_unknown_paths():
    assert [m.id for m in client().models.list()] == ["replyloop-offline"]
    status, body = offline_model.handle("POST", "/v1/embeddings", {})
    assert status == 404 and "does not serve" in body["error"]["message"]


def test_the_wsgi_app_serves_the_same_api():
    from werkzeug.test import Client

    response = Client(offline_model.wsgi_app).post(
        "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hello"}], "logprobs": True}
    )
    body = json.loads(response.data)
    assert response.status_code == 200
    assert body["model"] == "replyloop-offline"
    geometric = math.exp(
        sum(t["logprob"] for t in body["choices"][0]["logprobs"]["content"])
        / len(body["choices"][0]["logprobs"]["content"])
    )
    assert geometric == pytest.approx(offline_model.GENERIC_CONFIDENCE, rel=0.05)


def test_named_offline_the_product_uses_the_offline_model_and_says_so():
    llm = build_llm(OFFLINE)
    assert "offline" in llm.description
    (completion,) = llm.complete([{"role": "user", "content": "hi"}], model="gpt-4o-mini", temperature=0, logprobs=True)
    assert completion.model == "replyloop-offline"
    assert completion.token_logprobs


def test_cost_uses_configured_prices_and_fine_tune_bases():
    settings = LlmSettings(LLM_PRICES='{"my-model": [1.0, 2.0]}')
    assert settings.cost_usd("my-model", 1_000_000, 500_000) == pytest.approx(2.0)
    assert settings.cost_usd("ft:gpt-4o-mini:org::abc", 1_000_000, 0) == pytest.approx(0.15)
    assert settings.cost_usd("replyloop-offline", 10_000, 10_000) == 0


def _training_jsonl(count: int) -> bytes:
    lines = []
    for index in range(count):
        lines.append(
            json.dumps(
                {
                    "messages": [
                        {"role": "system", "content": "Be helpful."},
                        {
                            "role": "user",
                            "content": f"<customer_message>\nmy blender {index} arrived broken\n</customer_message>",
                        },
                        {"role": "assistant", "content": "A replacement blender ships today."},
                    ]
                }
            )
        )
    return ("\n".join(lines) + "\n").encode()


def test_fine_tuning_moves_through_its_states_and_teaches_the_model():
    sdk = client()
    uploaded = sdk.files.create(file=("train.jsonl", _training_jsonl(12)), purpose="fine-tune")
    assert uploaded.id.startswith("file-offline-")
    job = sdk.fine_tuning.jobs.create(training_file=uploaded.id, model="gpt-4o-mini", suffix="rl")
    seen = [job.status]
    while seen[-1] not in ("succeeded", "failed", "cancelled"):
        job = sdk.fine_tuning.jobs.retrieve(job.id)
        seen.append(job.status)
    assert seen == ["validating_files", "queued", "running", "succeeded"]
    assert job.fine_tuned_model.startswith("ft:gpt-4o-mini:rl:")

    before = ask("the blender I got is broken", system="Be helpful.")
    tuned = client().chat.completions.create(
        model=job.fine_tuned_model,
        messages=[
            {
                "role": "user",
                "content": "<customer_message>\nthe blender I got is broken\n</customer_message>",
            }
        ],
    )
    assert before.choices[0].message.content == offline_model.GENERIC_REPLY
    assert tuned.choices[0].message.content == "A replacement blender ships today."
    assert tuned.model == job.fine_tuned_model


def test_a_training_file_that_breaks_the_rules_fails_the_job_with_the_reason():
    sdk = client()
    uploaded = sdk.files.create(file=("train.jsonl", _training_jsonl(3)), purpose="fine-tune")
    job = sdk.fine_tuning.jobs.create(training_file=uploaded.id, model="gpt-4o-mini")
    job = sdk.fine_tuning.jobs.retrieve(job.id)
    assert job.status == "failed"
    assert "at least 10" in job.error.message


def test_a_job_can_be_cancelled():
    sdk = client()
    uploaded = sdk.files.create(file=("train.jsonl", _training_jsonl(10)), purpose="fine-tune")
    job = sdk.fine_tuning.jobs.create(training_file=uploaded.id, model="gpt-4o-mini")
    assert sdk.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    assert sdk.fine_tuning.jobs.retrieve(job.id).status == "cancelled"


def test_structured_output_through_a_registered_handler(monkeypatch):
    from pydantic import BaseModel

    class Verdict(BaseModel):
        category: str
        score: int

    monkeypatch.setitem(
        offline_model.STRUCTURED_HANDLERS,
        "Verdict",
        lambda messages, schema: {"category": "tone", "score": len(schema["properties"])},
    )
    parsed, usage = build_llm(OFFLINE).structured(
        [{"role": "user", "content": "judge this"}], model="gpt-4o-mini", output=Verdict
    )
    assert parsed == Verdict(category="tone", score=2)
    assert usage.model == "replyloop-offline"


def test_the_key_can_come_from_ssm(monkeypatch):
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name="/replyloop/openai-api-key", Value="sk-from-ssm", Type="SecureString"
        )
        llm = build_llm(LlmSettings(OPENAI_API_KEY_PARAMETER="/replyloop/openai-api-key"))
    assert llm._client.api_key == "sk-from-ssm"
    assert "offline" not in llm.description


def _batch_line(custom_id: str, message: str, **body) -> str:
    request = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"<customer_message>\n{message}\n</customer_message>"},
        ],
        **body,
    }
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": request})


def _run_batch(sdk: openai.OpenAI, lines: list[str], **metadata: str):
    uploaded = sdk.files.create(file=("in.jsonl", ("\n".join(lines) + "\n").encode()), purpose="batch")
    batch = sdk.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h", metadata=metadata
    )
    seen = [batch.status]
    while seen[-1] not in ("completed", "failed", "expired", "cancelled"):
        batch = sdk.batches.retrieve(batch.id)
        seen.append(batch.status)
    return batch, seen


def test_a_batch_answers_every_request_like_chat_completions_and_maps_by_custom_id():
    sdk = client()
    batch, seen = _run_batch(
        sdk,
        [
            _batch_line("parcel", "where is my parcel"),
            _batch_line("billing", "I think I was charged twice this month"),
            _batch_line("mystery", "hi", response_format={"type": "json_schema", "json_schema": {"name": "nope"}}),
        ],
        run="r1",
    )
    assert seen == ["validating", "in_progress", "finalizing", "completed"]
    assert batch.request_counts.model_dump() == {"total": 3, "completed": 2, "failed": 1}
    assert batch.metadata == {"run": "r1"}

    output = [json.loads(line) for line in sdk.files.content(batch.output_file_id).text.splitlines()]
    replies = {line["custom_id"]: line["response"]["body"]["choices"][0]["message"]["content"] for line in output}
    assert replies == {
        "parcel": "Your parcel is at the depot and arrives tomorrow.",
        "billing": "I refunded the duplicate charge; it shows in 5-7 days.",
    }
    assert all(line["response"]["status_code"] == 200 and line["error"] is None for line in output)
    (error,) = [json.loads(line) for line in sdk.files.content(batch.error_file_id).text.splitlines()]
    assert error["custom_id"] == "mystery"
    assert error["response"]["status_code"] == 400
    assert "cannot produce the schema" in error["response"]["body"]["error"]["message"]


def test_a_batch_with_a_bad_input_file_fails_with_line_errors():
    bad = [
        _batch_line("same", "hello"),
        _batch_line("same", "hello again"),
        json.dumps({"custom_id": "x", "method": "POST", "url": "/v1/embeddings", "body": {}}),
        "not json",
    ]
    batch, seen = _run_batch(client(), bad)
    assert seen == ["validating", "failed"]
    assert [(e.line, e.code) for e in batch.errors.data] == [
        (2, "duplicate_custom_id"),
        (3, "mismatched_endpoint"),
        (4, "invalid_json_line"),
    ]
    assert batch.output_file_id is None


def test_a_batch_can_be_cancelled_and_batches_are_listed_newest_first_in_pages():
    sdk = client()
    uploaded = sdk.files.create(file=("in.jsonl", _batch_line("a", "hi").encode()), purpose="batch")
    made = [
        sdk.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
        for _ in range(3)
    ]
    assert sdk.batches.cancel(made[0].id).status == "cancelling"
    assert sdk.batches.retrieve(made[0].id).status == "cancelled"

    listed = [batch.id for batch in sdk.batches.list(limit=2)]  # the SDK follows `has_more` with `after`
    assert listed[:3] == [b.id for b in reversed(made)]


def test_a_batch_refuses_files_and_endpoints_it_cannot_run():
    sdk = client()
    tuning = sdk.files.create(file=("t.jsonl", _training_jsonl(10)), purpose="fine-tune")
    with pytest.raises(openai.BadRequestError, match="not 'batch'"):
        sdk.batches.create(input_file_id=tuning.id, endpoint="/v1/chat/completions", completion_window="24h")
    batch_file = sdk.files.create(file=("in.jsonl", _batch_line("a", "hi").encode()), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="batches only"):
        sdk.batches.create(input_file_id=batch_file.id, endpoint="/v1/embeddings", completion_window="24h")
    with pytest.raises(openai.NotFoundError):
        sdk.batches.retrieve("batch_missing")
    with pytest.raises(openai.NotFoundError):
        sdk.files.content("file-missing")


def test_a_latency_knob_delays_each_chat_completion_and_defaults_to_none(monkeypatch: pytest.MonkeyPatch):
    from replyloop.local.offline_model import server

    slept: list[float] = []
    monkeypatch.setattr(server.time, "sleep", slept.append)
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    monkeypatch.delenv(server.LATENCY_VARIABLE, raising=False)
    assert offline_model.handle("POST", "/v1/chat/completions", body)[0] == 200
    assert slept == []
    monkeypatch.setenv(server.LATENCY_VARIABLE, "250")
    assert offline_model.handle("POST", "/v1/chat/completions", body)[0] == 200
    assert slept == [0.25]
    monkeypatch.setenv(server.LATENCY_VARIABLE, "soon")
    assert server.latency_seconds() == 0.0
