"""The published spec is the whole contract: every operation's success with its model, and its errors."""

from __future__ import annotations

from typing import Any

import pytest

from replyloop.handlers.api import app

JSON = "application/json"
ERROR_REF = "#/components/schemas/ErrorResponse"


def _routes() -> dict[tuple[str, str], Any]:
    """(METHOD, path) -> the Powertools Route behind it, for the routes the spec publishes."""
    routes = [*app._static_routes, *app._dynamic_routes]
    return {(route.method, route.openapi_path): route for route in routes if route.include_in_schema}


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in spec["paths"].items() for method, op in item.items()]


@pytest.fixture
def spec(api) -> dict[str, Any]:
    result = api("GET", "/openapi.json", groups=None)
    assert result.status == 200
    body: dict[str, Any] = result.body
    return body


def test_the_spec_publishes_every_route(spec):
    assert {(method, path) for method, path, _ in _operations(spec)} == set(_routes())
    assert len(_routes()) >= 28


def test_every_operation_documents_one_success_with_the_model_it_returns(spec):
    for method, path, op in _operations(spec):
        successes = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert len(successes) == 1, (method, path, sorted(op["responses"]))
        (response,) = successes.values()
        schema = response["content"][JSON]["schema"]
        returned = _routes()[(method, path)].dependant.return_param.type_
        assert schema == {"$ref": f"#/components/schemas/{returned.__name__}"}, (method, path)
        assert returned.__name__ in spec["components"]["schemas"]


def test_guarded_operations_document_401_and_403(spec):
    for method, path, op in _operations(spec):
        guards = [m.__name__ for m in _routes()[(method, path)].middlewares if m.__name__.startswith("require_")]
        assert guards, f"{method} {path} has no role guard"
        for code in ("401", "403"):
            assert op["responses"][code]["content"][JSON]["schema"] == {"$ref": ERROR_REF}, (method, path, code)


def test_every_error_is_an_error_response_and_bodies_document_their_checks(spec):
    for method, path, op in _operations(spec):
        errors = {code: r for code, r in op["responses"].items() if code[0] in "45"}
        assert {"422", "429", "503"} <= errors.keys(), (method, path)
        for code, response in errors.items():
            assert response["content"][JSON]["schema"] == {"$ref": ERROR_REF}, (method, path, code)
        if "requestBody" in op:
            assert {"400", "413", "415"} <= errors.keys(), (method, path)


def test_the_verdict_route_says_why_it_answers_403(spec):
    op = spec["paths"]["/api/interactions/{interaction_id}/feedback"]["post"]
    assert "reviewer" in op["responses"]["403"]["description"]
    assert op["responses"]["403"]["content"][JSON]["schema"] == {"$ref": ERROR_REF}
