"""Bad input gets a clear 4xx, never a 5xx; roles are enforced."""

from __future__ import annotations

import pytest

from tests.integration.test_capture_api import DRAFT, record


def test_unknown_interaction_is_404(api):
    result = api("GET", "/api/interactions/doesnotexist")
    assert result.status == 404
    assert "doesnotexist" in result.body["message"]
    assert api("POST", "/api/interactions/doesnotexist/feedback", body={"useful": True}).status == 404


def test_unknown_route_is_404(api):
    assert api("GET", "/api/nothing-here").status == 404


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"aiReply": "x"}, "body.message"),
        ({"message": "x", "aiReply": "x", "surprise": 1}, "body.surprise"),
        ({"message": "   ", "aiReply": "x"}, "body.message"),
        ({"message": "x" * 8001, "aiReply": "x"}, "body.message"),
        ({"message": 5, "aiReply": "x"}, "body.message"),
        ({"message": "x", "aiReply": "x", "confidence": 1.5}, "body.confidence"),
        ({"message": "x", "aiReply": "x", "assistantVersion": "bad version!"}, "body.assistantVersion"),
        ({"message": "x", "aiReply": "x", "createdAt": "yesterday"}, "body.createdAt"),
        ({"message": "x", "aiReply": "x", "createdAt": "2026-11-01T10:00:00"}, "body.createdAt"),  # no zone
        ({"message": "x", "aiReply": "x", "createdAt": "0001-01-01T00:00:00+01:00"}, "body.createdAt"),
        ({"message": "x", "aiReply": "x", "createdAt": "2999-01-01T00:00:00Z"}, "body.createdAt"),
    ],
)
def test_invalid_interactions_are_422_with_the_field_named(api, body, location):
    result = api("POST", "/api/interactions", body=body)
    assert result.status == 422
    assert location in [e["location"] for e in result.body["errors"]]
    assert result.body["message"].startswith("The request is not valid")


@pytest.mark.parametrize("useful", ["yes", 1, None, "true"])
def test_useful_must_be_a_real_boolean(api, useful):
    interaction_id = record(api)
    result = api("POST", f"/api/interactions/{interaction_id}/feedback", body={"useful": useful})
    assert result.status == 422


def test_malformed_json_is_422(api):
    result = api("POST", "/api/interactions", raw_body='{"message": ')
    assert result.status == 422
    assert "JSON" in result.body["message"] or "json" in result.body["message"]


def test_a_body_that_is_not_json_is_415(api):
    result = api(
        "POST",
        "/api/interactions",
        raw_body="message=hi",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert result.status == 415
    assert "application/json" in result.body["message"]


def test_binary_garbage_is_400(api):
    assert api("POST", "/api/interactions", raw_body=b"\xff\xfe\x00").status == 400


def test_an_oversized_body_is_413(api):
    result = api("POST", "/api/interactions", raw_body='{"message": "' + "x" * 70_000 + '"}')
    assert result.status == 413


@pytest.mark.parametrize("bad_id", ["-starts-with-dash", "a" * 65, "has space", "semi;colon"])
def test_bad_ids_are_4xx(api, bad_id):
    assert api("GET", f"/api/interactions/{bad_id}").status in (404, 422)


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"verdict": "maybe"}, {"from": "not-a-date"}, {"order": "random"}],
)
def test_bad_replay_filters_are_422(api, params):
    assert api("GET", "/api/feedback/replay", params=params).status == 422


def test_no_claims_is_401(api):
    result = api("GET", "/api/feedback/analytics", groups=None)
    assert result.status == 401


def test_a_token_without_a_role_is_403(api):
    result = api("GET", "/api/feedback/analytics", groups="[viewers]")
    assert result.status == 403
    assert "agent" in result.body["message"]


def test_only_admins_may_backdate(api):
    body = {**DRAFT, "createdAt": "2026-11-01T10:00:00Z"}
    refused = api("POST", "/api/interactions", body=body, groups="[agent]")
    assert refused.status == 403
    assert "createdAt" in refused.body["message"]
    assert api("POST", "/api/interactions", body=body, groups="[admin]").status == 201


def test_the_openapi_spec_is_public_and_names_the_routes(api):
    result = api("GET", "/openapi.json", groups=None)
    assert result.status == 200
    paths = result.body["paths"]
    for path in (
        "/api/interactions",
        "/api/interactions/{interaction_id}",
        "/api/interactions/{interaction_id}/feedback",
        "/api/feedback-replay",
        "/api/feedback/replay",
        "/api/feedback/analytics",
    ):
        assert path in paths
