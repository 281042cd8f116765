"""The local gateway: the template's routes, the JWT authorizer's checks, v2 events to the same handler."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from werkzeug.test import Client

from replyloop.domain.auth import Role
from replyloop.local.gateway import FunctionRunner, Gateway
from replyloop.local.tokens import AUDIENCE, ISSUER, issue_token


@pytest.fixture
def client(stack, replyloop_home):
    return Client(Gateway(stack.routes, FunctionRunner(stack.functions), home=replyloop_home))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_routes_come_from_the_template(stack):
    routes = {(r.method, r.path, r.authorized) for r in stack.routes}
    assert ("ANY", "/api/{proxy+}", True) in routes
    assert ("GET", "/openapi.json", False) in routes
    assert ("GET", "/docs", False) in routes


def test_no_token_is_401_before_the_handler_runs(client):
    response = client.get("/api/feedback/analytics")
    assert response.status_code == 401
    assert "replyloop dev token" in response.get_json()["message"]


@pytest.mark.parametrize("header", ["Bearer", "Basic abc", "Bearer not.a.jwt"])
def test_malformed_tokens_are_401(client, header):
    assert client.get("/api/feedback/analytics", headers={"Authorization": header}).status_code == 401


def test_a_token_signed_by_someone_else_is_401(client, replyloop_home, tmp_path):
    foreign = issue_token(Role.ADMIN, home=tmp_path / "elsewhere")
    assert client.get("/api/feedback/analytics", headers=bearer(foreign)).status_code == 401


def test_an_expired_token_is_401(client, replyloop_home):
    from replyloop.local.tokens import _private_key

    now = int(time.time())
    expired = jwt.encode(
        {
            "sub": "x",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now - 100,
            "exp": now - 10,
            "cognito:groups": ["agent"],
        },
        _private_key(replyloop_home),
        algorithm="RS256",
    )
    response = client.get("/api/feedback/analytics", headers=bearer(expired))
    assert response.status_code == 401
    assert "expired" in response.get_json()["message"].lower()


def test_roles_travel_as_api_gateway_sends_them(client, replyloop_home):
    agent, admin = issue_token(Role.AGENT, home=replyloop_home), issue_token(Role.ADMIN, home=replyloop_home)
    body = {"message": "hi", "aiReply": "hello", "createdAt": "2026-11-01T10:00:00Z"}
    assert client.post("/api/interactions", json=body, headers=bearer(agent)).status_code == 403
    created = client.post("/api/interactions", json=body, headers=bearer(admin))
    assert created.status_code == 201
    view = client.get(f"/api/interactions/{created.get_json()['interactionId']}", headers=bearer(agent))
    assert view.get_json()["createdBy"] == "dev-admin"


def test_public_routes_need_no_token(client):
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200


def test_paths_outside_the_routes_are_404(client):
    assert client.get("/elsewhere").status_code == 404
    assert client.post("/openapi.json").status_code == 404  # GET only


def test_the_event_is_payload_format_2(stack):
    seen = {}

    class Recorder(FunctionRunner):
        def invoke(self, function, event):
            seen.update(event)
            return {"statusCode": 204, "headers": {}, "body": ""}

    client = Client(Gateway(stack.routes, Recorder(stack.functions)))
    client.set_cookie("c", "1")
    client.set_cookie("d", "2")
    response = client.get("/openapi.json?a=1&a=2&b=x", headers={"X-Thing": "y"})
    assert response.status_code == 204
    assert seen["version"] == "2.0"
    assert seen["routeKey"] == "GET /openapi.json"
    assert seen["rawQueryString"] == "a=1&a=2&b=x"
    assert seen["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert seen["cookies"] == ["c=1", "d=2"]
    assert seen["headers"]["x-thing"] == "y"
    assert seen["requestContext"]["http"]["method"] == "GET"
    assert "authorizer" not in seen["requestContext"]


def test_a_crashing_handler_is_a_500_like_api_gateway(stack):
    class Crasher(FunctionRunner):
        def invoke(self, function, event):
            raise RuntimeError("boom")

    errors = []
    response = Client(Gateway(stack.routes, Crasher(stack.functions), on_error=errors.append)).get("/docs")
    assert response.status_code == 500
    assert "boom" in errors[0]


@pytest.fixture
def console_dir(tmp_path):
    folder = tmp_path / "dist"
    folder.mkdir()
    (folder / "index.html").write_text("<!doctype html><title>replyloop console</title>")
    (folder / "main.js").write_text("console.log('hi')")
    (tmp_path / "secret.txt").write_text("not for the browser")
    return folder


@pytest.fixture
def console_client(stack, replyloop_home, console_dir):
    return Client(Gateway(stack.routes, FunctionRunner(stack.functions), home=replyloop_home, static_dir=console_dir))


def test_the_console_is_served_where_no_route_claims_the_path(console_client):
    page = console_client.get("/")
    assert page.status_code == 200
    assert "replyloop console" in page.get_data(as_text=True)
    assert page.headers["Content-Type"].startswith("text/html")
    script = console_client.get("/main.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["Content-Type"]
    assert script.headers["X-Content-Type-Options"] == "nosniff"
    # Routes still win: the API is not shadowed by the console.
    assert console_client.get("/api/feedback/analytics").status_code == 401


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/nothing.js"])
def test_only_files_inside_the_console_are_served(console_client, path):
    response = console_client.get(path)
    assert response.status_code == 404
    assert b"not for the browser" not in response.get_data()


def test_the_console_learns_it_signs_in_with_dev_tokens(console_client):
    config = console_client.get("/config.json").get_json()
    assert config == {"apiUrl": "", "auth": {"mode": "dev", "tokenUrl": "/local/dev-token"}}


@pytest.mark.parametrize("role", list(Role))
def test_dev_sign_in_issues_a_token_the_gateway_accepts(console_client, role):
    response = console_client.post("/local/dev-token", json={"role": role.value})
    assert response.status_code == 200
    token = response.get_json()["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["cognito:groups"] == [role.value]
    assert console_client.get("/api/feedback/analytics", headers=bearer(token)).status_code == 200
    versions = console_client.get("/api/versions", headers=bearer(token)).status_code
    assert versions == (200 if role is Role.ADMIN else 403)


@pytest.mark.parametrize("body", [{"role": "root"}, {}, ["admin"], "admin"])
def test_dev_sign_in_refuses_unknown_roles(console_client, body):
    response = console_client.post("/local/dev-token", json=body)
    assert response.status_code == 400
    assert "agent, reviewer, admin" in response.get_json()["message"]


def test_an_unbuilt_console_says_how_to_build_it(stack, replyloop_home, tmp_path):
    client = Client(Gateway(stack.routes, FunctionRunner(stack.functions), static_dir=tmp_path / "missing"))
    response = client.get("/")
    assert response.status_code == 404
    assert "make console" in response.get_data(as_text=True)


def test_each_api_instance_routes_through_its_own_routers(stack):
    """Concurrent events run in separate instances of the api's handler modules; its routers, imported on
    first use, must be the instance's own: a shared router reads another event's request."""
    import inspect
    import sys

    from replyloop.handlers.api import include_all
    from replyloop.local.gateway import _fresh_instance

    spec = stack.functions["ApiFunction"]
    spec.entry_point()
    include_all()  # the first instance's routers
    original = sys.modules["replyloop.handlers.api.stress"]
    fresh = inspect.unwrap(_fresh_instance(spec, 99)).__globals__
    assert fresh["app"] is not sys.modules["replyloop.handlers.api"].app
    routes = [*fresh["app"]._static_routes, *fresh["app"]._dynamic_routes]
    stress_routes = [route for route in routes if route.func.__module__ == "replyloop.handlers.api.stress"]
    assert stress_routes, "the instance has every router"
    assert all(route.func.__globals__ is not original.__dict__ for route in stress_routes)
    assert sys.modules["replyloop.handlers.api.stress"] is original  # the first instance's modules stay


def test_http_events_resolved_at_once_each_read_their_own_request(tmp_path):
    """Powertools keeps the event being resolved on a class attribute; concurrent events in the local stack's
    one process must each read their own (Lambda gives each event a process of its own)."""
    import threading

    from replyloop.local.provision import FunctionSpec

    (tmp_path / "app.py").write_text(
        "import time\n"
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
        "from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter\n"
        "app = APIGatewayHttpResolver()\n"
        "router = APIGatewayHttpRouter()\n"
        "@router.get('/echo/<name>')\n"
        "def echo(name):\n"
        "    seen = router.current_event.path\n"
        "    time.sleep(0.3)  # another event is resolved meanwhile\n"
        "    return {'name': name, 'before': seen, 'after': router.current_event.path,\n"
        "            'app': app.current_event.path, 'request': app.lambda_context.aws_request_id}\n"
        "app.include_router(router)\n"
        "def lambda_handler(event, context):\n"
        "    return app.resolve(event, context)\n"
    )
    spec = FunctionSpec("Echo", tmp_path, "app.lambda_handler", {}, timeout=10, concurrency=6)
    runner = FunctionRunner({"Echo": spec})
    answers: dict[str, dict] = {}

    def call(name: str) -> None:
        event = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": f"/echo/{name}",
            "rawQueryString": "",
            "headers": {},
            "isBase64Encoded": False,
            "requestContext": {
                "http": {"method": "GET", "path": f"/echo/{name}", "sourceIp": "127.0.0.1"},
                "requestId": name,
                "stage": "$default",
            },
        }
        answers[name] = json.loads(runner.invoke("Echo", event)["body"])

    names = [f"n{index}" for index in range(6)]
    threads = [threading.Thread(target=call, args=(name,)) for name in names]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    # Each event saw its own request before and after the others were resolved,
    for name in names:
        path = f"/echo/{name}"
        assert (answers[name]["name"], answers[name]["before"], answers[name]["after"]) == (name, path, path)
        assert answers[name]["app"] == path
    assert len({answer["request"] for answer in answers.values()}) == 6  # and its own context
    # and they were resolved at the same time, not in turns (6 x 0.3 s).
    assert elapsed < 1.2, elapsed
