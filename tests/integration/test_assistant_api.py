"""Drafting, the review queue, versions and prompts through the api handler, against moto."""

from __future__ import annotations

import json
import math

import httpx2
import openai
import pytest

from replyloop.adapters.llm import OpenAILlm

BILLING = "I was charged twice for my subscription this month, please refund one"
EXEMPLARS = [
    {
        "message": "I was charged twice for my subscription this month",
        "reply": "I refunded the duplicate charge.",
    },
    {"message": "My parcel has not arrived", "reply": "Your parcel arrives tomorrow."},
]


def admin(api, method, path, **kwargs):
    return api(method, path, groups="[admin]", **kwargs)


def draft(api, message=BILLING, **extra):
    result = api("POST", "/api/replies", body={"message": message, **extra})
    assert result.status == 201, result.body
    return result.body


def new_version(api, tag, exemplars=EXEMPLARS, text="Be helpful and specific."):
    prompt = admin(
        api,
        "POST",
        "/api/prompts/reply/versions",
        body={"text": text, "improvementNotes": f"for {tag}", "exemplars": exemplars},
    )
    assert prompt.status == 201, prompt.body
    version = admin(api, "POST", "/api/versions", body={"versionTag": tag, "promptVersion": prompt.body["version"]})
    assert version.status == 201, version.body
    return prompt.body


def test_a_draft_uses_the_default_v1_and_is_recorded(api):
    body = draft(api)
    assert body["assistantVersion"] == "v1"
    assert body["model"] == "replyloop-offline"  # no key configured: says what it used
    assert body["topic"] == "billing"
    assert body["confidenceMethod"] == "logprobs"
    view = api("GET", f"/api/interactions/{body['interactionId']}").body
    assert view["aiReply"] == body["reply"]
    assert view["assistantVersion"] == "v1"
    assert view["confidence"] == body["confidence"]


def test_low_confidence_drafts_are_snoozed_and_queued_until_a_verdict(api):
    body = draft(api, "Do you have a store in Lisbon?")  # v1 has no exemplars: the offline model holds
    assert body["confidence"] < 0.3
    assert body["snoozed"] is True
    queue = api("GET", "/api/review-queue").body["items"]
    assert [item["interactionId"] for item in queue] == [body["interactionId"]]

    api(
        "POST",
        f"/api/interactions/{body['interactionId']}/feedback",
        body={"useful": False, "agentReply": "We have no store in Lisbon, but we deliver there."},
    )
    assert api("GET", "/api/review-queue").body["items"] == []
    stats = api("GET", "/api/feedback/analytics").body
    assert stats["notUsefulCount"] == 1


def test_a_better_prompt_version_drafts_better_and_tags_new_replies(api):
    before = draft(api)
    new_version(api, "v2")
    assert admin(api, "POST", "/api/versions/v2/activate").status == 200
    after = draft(api)
    assert after["assistantVersion"] == "v2"
    assert after["reply"] == "I refunded the duplicate charge."
    assert after["confidence"] > before["confidence"]
    assert after["snoozed"] is False


def test_activation_freezes_the_previous_version_and_rolls_back(api):
    new_version(api, "v2")
    admin(api, "POST", "/api/versions/v2/activate")
    listed = admin(api, "GET", "/api/versions").body
    assert listed["active"] == "v2"
    assert {v["versionTag"]: v["status"] for v in listed["items"]} == {"v1": "frozen", "v2": "active"}
    prompts = admin(api, "GET", "/api/prompts/reply/versions").body["items"]
    assert all(p["frozen"] for p in prompts)

    assert admin(api, "POST", "/api/versions/v1/activate").status == 200  # rollback is the same call
    listed = admin(api, "GET", "/api/versions").body
    assert {v["versionTag"]: v["status"] for v in listed["items"]} == {"v1": "active", "v2": "frozen"}
    assert draft(api)["assistantVersion"] == "v1"


def test_register_defaults_to_the_active_version_and_refuses_duplicates(api):
    created = admin(api, "POST", "/api/versions", body={"versionTag": "v2", "description": "same prompt, new tag"})
    assert created.status == 201
    assert created.body["status"] == "candidate"
    assert created.body["promptVersion"] == 1
    assert created.body["model"] == "gpt-4o-mini"
    again = admin(api, "POST", "/api/versions", body={"versionTag": "v2"})
    assert again.status == 409
    missing_prompt = admin(api, "POST", "/api/versions", body={"versionTag": "v3", "promptVersion": 9})
    assert missing_prompt.status == 400


def test_unknown_versions_are_404(api):
    assert admin(api, "POST", "/api/versions/v9/activate").status == 404
    assert admin(api, "GET", "/api/versions/compare", params={"a": "v1", "b": "v9"}).status == 404


def test_compare_shows_both_versions_from_the_counters(api, dynamodb_calls):
    draft(api)
    draft(api, "Do you have a store in Lisbon?")
    new_version(api, "v2")
    admin(api, "POST", "/api/versions/v2/activate")
    fb = draft(api)
    api("POST", f"/api/interactions/{fb['interactionId']}/feedback", body={"useful": True})
    dynamodb_calls.clear()
    result = admin(api, "GET", "/api/versions/compare", params={"a": "v1", "b": "v2", "days": 7})
    assert result.status == 200
    v1, v2 = result.body["versions"]
    # v1 has no exemplars, so the offline model holds on both messages: both snoozed.
    assert (v1["version"]["versionTag"], v1["interactions"], v1["snoozeRate"]) == ("v1", 2, 1.0)
    assert (v2["version"]["versionTag"], v2["interactions"], v2["usefulRate"]) == ("v2", 1, 1.0)
    assert v2["meanConfidence"] > v1["meanConfidence"]
    assert v1["promptTokens"] > 0
    assert len(v1["dailyBreakdown"]) == 7
    assert "Scan" not in dynamodb_calls


def test_prompt_versions_are_append_only_and_diffable(api):
    made = new_version(api, "v2", text="Be helpful and specific.")
    assert made["version"] == 2
    diff = admin(api, "GET", "/api/prompts/reply/diff", params={"from": 1, "to": 2})
    assert diff.status == 200
    assert diff.body["from"]["version"] == 1 and diff.body["to"]["version"] == 2
    assert "+Be helpful and specific." in diff.body["unifiedDiff"]
    assert any(w["op"] != "equal" for w in diff.body["words"])
    assert admin(api, "GET", "/api/prompts/reply/diff", params={"from": 1, "to": 7}).status == 404
    assert admin(api, "GET", "/api/prompts/other/versions").status == 404


def test_failure_categories_reach_the_prompt(api, stack):
    from replyloop.wiring import get_store

    get_store()._table.put_item(
        Item={"pk": "CATEGORIES", "sk": "TOPIC#billing", "cat:wrong amount": 5, "cat:tone": 2, "cat:none": 0}
    )
    body = draft(api)
    assert body["failureCategories"] == ["wrong amount", "tone"]
    assert body["failureContext"] == (
        "Based on past failures, this type of query often fails due to: wrong amount, tone."
    )


def test_agents_cannot_manage_versions(api):
    assert api("GET", "/api/versions").status == 403
    assert api("POST", "/api/versions/v1/activate").status == 403
    assert api("POST", "/api/prompts/reply/versions", body={"text": "x"}).status == 403


def test_a_model_outage_is_a_503_and_nothing_is_recorded(api, monkeypatch):
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(503, json={"error": {"message": "overloaded"}})

    client = openai.OpenAI(
        api_key="k",
        base_url="https://llm.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    monkeypatch.setattr("replyloop.handlers.api.assistant.get_llm", lambda: OpenAILlm(client, "down"))
    result = api("POST", "/api/replies", body={"message": "hi"})
    assert result.status == 503
    assert "try again" in result.body["message"]
    assert api("GET", "/api/feedback/analytics").body["interactions"] == 0


def test_without_logprobs_confidence_comes_from_sample_agreement(api, monkeypatch):
    replies = iter(["Your refund is on its way.", "Your refund is on its way.", "Your refund is on the way."])
    requests = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        requests.append(body)
        n = body.get("n", 1)
        choices = [
            {
                "index": i,
                "message": {"role": "assistant", "content": next(replies)},
                "logprobs": None,
                "finish_reason": "stop",
            }
            for i in range(n)
        ]
        return httpx2.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 1,
                "model": "o4-mini",
                "choices": choices,
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            },
        )

    client = openai.OpenAI(
        api_key="k",
        base_url="https://llm.test/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    monkeypatch.setattr("replyloop.handlers.api.assistant.get_llm", lambda: OpenAILlm(client, "reasoning"))
    body = draft(api)
    assert body["confidenceMethod"] == "agreement"
    assert 0.8 < body["confidence"] < 1.0
    assert [r.get("n", 1) for r in requests] == [1, 2]  # the draft, then two more samples
    assert not math.isnan(body["confidence"])


def test_a_stale_activation_is_refused_so_there_is_never_a_second_active_version(api, stack):
    from datetime import UTC, datetime

    from replyloop.domain.errors import ConflictError
    from replyloop.wiring import get_registry

    new_version(api, "v2")
    new_version(api, "v3")
    registry = get_registry()
    v1, v2, v3 = (registry.get_version(tag) for tag in ("v1", "v2", "v3"))
    prompt = registry.get_prompt_version("reply", v2.prompt_version)
    registry.activate(v2, prompt, v1, datetime.now(UTC))
    with pytest.raises(ConflictError):  # this caller still thinks v1 is active
        registry.activate(v3, registry.get_prompt_version("reply", v3.prompt_version), v1, datetime.now(UTC))
    statuses = {v.version_tag: v.status.value for v in registry.list_versions()}
    assert statuses == {"v1": "frozen", "v2": "active", "v3": "candidate"}
    assert registry.active()[0].version_tag == "v2"
