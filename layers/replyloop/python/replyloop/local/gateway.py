"""A local stand-in for API Gateway's HTTP API: WSGI in, payload-format-2.0 events out.

Routes and their authorizer come from the template's `HttpApi` events. A guarded route needs a
bearer token that `tokens.verify_token` accepts, exactly as the JWT authorizer would; the claims
reach the handler as strings under `requestContext.authorizer.jwt.claims`.

Paths no route claims serve the web console (`console/dist`), as CloudFront does in AWS, plus two
local-only stand-ins for what AWS provides around it: `/config.json` (written at deploy time in
AWS) and `POST /local/dev-token`, the dev sign-in that takes the Cognito hosted UI's place.
"""

from __future__ import annotations

import base64
import heapq
import itertools
import json
import re
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

from replyloop.domain.auth import Role
from replyloop.local.provision import FunctionSpec, HttpRoute
from replyloop.local.tokens import TokenError, as_authorizer_claims, issue_token, verify_token

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's own limit
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")
DEV_TOKEN_PATH = "/local/dev-token"
CONSOLE_NOT_BUILT = (
    "The web console is not built. Build it with `make console` (npm ci && npm run build in console/), "
    "then reload. The API is at /api and its docs at /docs."
)


@dataclass
class LambdaContext:
    """What Powertools reads from the Lambda context."""

    function_name: str
    memory_limit_in_mb: int = 512
    timeout_seconds: int = 15
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    log_group_name: str = ""
    log_stream_name: str = "local"
    function_version: str = "$LATEST"

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())
        self.invoked_function_arn = (
            self.invoked_function_arn or f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        )
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


DEFAULT_CONCURRENCY = 8
# The handlers' own modules: what one Lambda execution environment holds in globals of its own.
ISOLATED_PACKAGE = "replyloop.handlers"
_IMPORT_LOCK = threading.Lock()


class FunctionRunner:
    """Invokes functions' handlers in-process, several events at once, as Lambda does.

    A Lambda execution environment serves one event at a time, and Powertools keeps per-event state
    in module globals (the resolver's current event, a batch processor's records). So each event
    runs in an *instance* of its handler: the function's module and `replyloop.handlers.*` imported
    afresh, sharing the rest of the package (domain, adapters, models, cached clients) with the
    others. An instance serves one event at a time; a new one is imported when all are busy, up to
    the function's concurrency (ReservedConcurrentExecutions, else DEFAULT_CONCURRENCY). Functions
    that share a handler (the explain and correct workers) share its instances too, one event each.
    The first instance is the modules everyone imports, so tests that patch them see their patch.
    """

    def __init__(self, functions: dict[str, FunctionSpec], *, default_concurrency: int = DEFAULT_CONCURRENCY) -> None:
        per_thread_router_state()
        self._functions = functions
        self._concurrency = {name: spec.concurrency or default_concurrency for name, spec in functions.items()}
        self._limits = {name: threading.BoundedSemaphore(limit) for name, limit in self._concurrency.items()}
        # Per handler: its idle instances as a heap of (serial, entry), so the first instance serves
        # whenever it is free (sequential calls always reach the modules everyone imports).
        self._idle: dict[int, list[tuple[int, Callable[..., Any]]]] = {}
        self._created: dict[int, int] = {}
        self._serials = itertools.count(1)
        self._guard = threading.Lock()

    def concurrency(self, function: str) -> int:
        return self._concurrency[function]

    def instances(self, function: str) -> int:
        """How many instances of the function's handler exist (busy or idle)."""
        return self._created.get(id(self._functions[function].entry_point()), 0)

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        spec = self._functions[function]
        with self._limits[function]:
            key, instance = self._acquire(spec)
            try:
                return instance[1](event, LambdaContext(function_name=function, timeout_seconds=spec.timeout))
            finally:
                with self._guard:
                    heapq.heappush(self._idle[key], instance)

    def _acquire(self, spec: FunctionSpec) -> tuple[int, tuple[int, Callable[..., Any]]]:
        with _IMPORT_LOCK:
            first = spec.entry_point()
            if id(first) not in self._created:
                _load_lazy_parts()
        key = id(first)
        with self._guard:
            if key not in self._created:
                self._created[key] = 1
                self._idle[key] = []
                return key, (0, first)
            if self._idle[key]:
                return key, heapq.heappop(self._idle[key])
            self._created[key] += 1
            serial = next(self._serials)
        try:
            return key, (serial, _fresh_instance(spec, serial))
        except BaseException:
            with self._guard:
                self._created[key] -= 1
            raise


# Powertools' event handler keeps the event it resolves, and its context, on its base class: `resolve()`
# assigns `BaseRouter.current_event` and `BaseRouter.lambda_context`, one pair per process. Lambda resolves
# one event per process; the local stack resolves several at once in threads of one process, where the
# second request would overwrite the first's (seen as a stress test whose cases were answered with each
# other's results). So in this process each thread has its own pair.
_ROUTER_STATE = threading.local()
_PER_THREAD_ROUTER_ATTRIBUTES = ("current_event", "lambda_context")


class _PerThread:
    """A data descriptor on `BaseRouter`: what an instance (a resolver, or a subclass) reads and assigns."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        try:
            return getattr(_ROUTER_STATE, self.name)
        except AttributeError:
            raise AttributeError(self.name) from None

    def __set__(self, obj: object, value: Any) -> None:
        setattr(_ROUTER_STATE, self.name, value)


def per_thread_router_state() -> None:
    """Give each thread its own `BaseRouter.current_event` and `.lambda_context` (idempotent).

    A property on a metaclass catches the class-level assignment in `resolve()` (an assignment to a class
    goes to its metaclass's data descriptors first); `_PerThread` in the class's namespace answers reads
    through instances and subclasses. Only the local stack calls this: a Lambda process needs neither.
    """
    from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

    if all(isinstance(vars(BaseRouter).get(name), _PerThread) for name in _PER_THREAD_ROUTER_ATTRIBUTES):
        return
    for name in _PER_THREAD_ROUTER_ATTRIBUTES:
        setattr(BaseRouter, name, _PerThread(name))
    namespace = {
        name: property(vars(BaseRouter)[name].__get__, vars(BaseRouter)[name].__set__)
        for name in _PER_THREAD_ROUTER_ATTRIBUTES
    }
    setattr(BaseRouter, "__class__", type("PerThreadRouterState", (type(BaseRouter),), namespace))  # noqa: B010


def _load_lazy_parts() -> None:
    """Import now what a handler would import on first use (the api's routers), under the import lock:
    an instance must use its own modules, and a request importing while another instance is being
    imported (sys.modules briefly without the originals) could pick up that instance's copies."""
    api = sys.modules.get(f"{ISOLATED_PACKAGE}.api")
    if api is not None and hasattr(api, "include_all"):
        api.include_all()


def _fresh_instance(spec: FunctionSpec, serial: int) -> Callable[..., Any]:
    """Import the function's module and `replyloop.handlers.*` again, leaving sys.modules as it was."""

    def isolated(name: str) -> bool:
        return name == ISOLATED_PACKAGE or name.startswith(ISOLATED_PACKAGE + ".")

    with _IMPORT_LOCK:
        saved = {name: module for name, module in sys.modules.items() if isolated(name)}
        for name in saved:
            del sys.modules[name]
        try:
            copy = FunctionSpec(spec.logical_id, spec.code_dir, spec.handler, spec.environment, spec.timeout)
            entry = copy.entry_point(module_name=f"replyloop_function_{spec.logical_id}_{serial}")
            _load_lazy_parts()
            return entry
        finally:
            for name in [name for name in sys.modules if isolated(name)]:
                del sys.modules[name]
            sys.modules.update(saved)
            # Importing a submodule binds it on its parent package: point those back at the originals.
            for name, module in saved.items():
                parent, _, child = name.rpartition(".")
                if parent in sys.modules:
                    setattr(sys.modules[parent], child, module)


@dataclass(frozen=True)
class _CompiledRoute:
    route: HttpRoute
    pattern: re.Pattern[str]
    literal_segments: int
    greedy: bool


def _compile(route: HttpRoute) -> _CompiledRoute:
    parts = []
    for segment in route.path.strip("/").split("/"):
        greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
        named = re.fullmatch(r"\{(\w+)\}", segment)
        if greedy:
            parts.append(f"(?P<{greedy.group(1)}>.+)")
        elif named:
            parts.append(f"(?P<{named.group(1)}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    pattern = re.compile("^/" + "/".join(parts) + "$")
    literal = sum(1 for s in route.path.split("/") if s and not s.startswith("{"))
    return _CompiledRoute(route, pattern, literal, "+}" in route.path)


def _json_response(status: int, message: str) -> Response:
    return Response(json.dumps({"message": message}), status=status, content_type="application/json")


class Gateway:
    """The WSGI app. `static_dir` (the built console), when given, is served for paths no route claims."""

    def __init__(
        self,
        routes: Iterable[HttpRoute],
        runner: FunctionRunner,
        *,
        home: Path | None = None,
        static_dir: Path | None = None,
        on_error: Callable[[str], None] | None = None,
        access_log: Callable[[str], None] | None = None,
    ) -> None:
        # API Gateway prefers the most specific route: exact before parameters before greedy.
        self._routes = sorted(
            (_compile(route) for route in routes),
            key=lambda r: (r.greedy, -r.literal_segments, r.route.method == "ANY"),
        )
        self._runner = runner
        self._home = home
        self._static_dir = static_dir
        self._on_error = on_error or (lambda text: None)
        self._access_log = access_log

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        started = time.perf_counter()
        response = self.handle(request)
        if self._access_log is not None:
            elapsed = (time.perf_counter() - started) * 1000
            self._access_log(
                f"{request.method} {request.full_path.rstrip('?')} -> {response.status_code} ({elapsed:.0f} ms)"
            )
        return response(environ, start_response)

    def _match(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for compiled in self._routes:
            if compiled.route.method not in ("ANY", method):
                continue
            found = compiled.pattern.match(path)
            if found:
                return compiled.route, found.groupdict()
        return None

    def handle(self, request: Request) -> Response:
        matched = self._match(request.method, request.path)
        if matched is None:
            return self._local(request)
        route, path_parameters = matched
        if request.content_length and request.content_length > MAX_PAYLOAD_BYTES:
            return _json_response(413, "Request Entity Too Large")
        claims: dict[str, str] | None = None
        if route.authorized:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return _json_response(
                    401,
                    "Unauthorized: send 'Authorization: Bearer <token>' (locally: `replyloop dev token --role agent`).",
                )
            try:
                claims = as_authorizer_claims(verify_token(token.strip(), home=self._home))
            except TokenError as error:
                return _json_response(401, f"Unauthorized: {error}")
        event = self.build_event(request, route, path_parameters, claims)
        try:
            result = self._runner.invoke(route.function, event)
        except Exception:
            self._on_error(traceback.format_exc())
            return _json_response(500, "Internal Server Error")
        return self.build_response(result)

    def _local(self, request: Request) -> Response:
        """What no route claims: the dev sign-in, the console's configuration and its files."""
        if request.path == DEV_TOKEN_PATH and request.method == "POST":
            return self._dev_token(request)
        if self._static_dir is None or request.method not in ("GET", "HEAD"):
            return _json_response(404, "Not Found")
        if request.path == "/config.json":
            config = {"apiUrl": "", "auth": {"mode": "dev", "tokenUrl": DEV_TOKEN_PATH}}
            return Response(json.dumps(config), content_type="application/json", headers={"Cache-Control": "no-store"})
        if not (self._static_dir / "index.html").is_file():
            return Response(CONSOLE_NOT_BUILT, status=404, content_type="text/plain; charset=utf-8")
        path = request.path.lstrip("/") or "index.html"
        try:
            response = send_from_directory(self._static_dir, path, request.environ, max_age=0)
        except NotFound:
            return _json_response(404, "Not Found")
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def _dev_token(self, request: Request) -> Response:
        body = request.get_json(silent=True)
        role = body.get("role") if isinstance(body, dict) else None
        if role not in {r.value for r in Role}:
            return _json_response(400, f'Send JSON {{"role": ...}} with one of: {", ".join(r.value for r in Role)}.')
        return Response(
            json.dumps({"token": issue_token(Role(role), home=self._home)}),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    @staticmethod
    def build_event(
        request: Request, route: HttpRoute, path_parameters: dict[str, str], claims: dict[str, str] | None
    ) -> dict[str, Any]:
        raw = request.get_data(cache=False)
        content_type = request.headers.get("Content-Type", "")
        is_text = not raw or content_type.startswith(TEXT_TYPES) or not content_type
        body: str | None = None
        is_base64 = False
        if raw:
            if is_text:
                try:
                    body = raw.decode("utf-8")
                except UnicodeDecodeError:
                    is_text = False
            if not is_text:
                body, is_base64 = base64.b64encode(raw).decode("ascii"), True
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in request.headers.items():
            lower = name.lower()
            if lower == "cookie":
                cookies.extend(part.strip() for part in value.split(";") if part.strip())
                continue
            headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
        query = {key: ",".join(values) for key, values in request.args.lists()}
        now = datetime.now(UTC)
        route_key = f"{route.method} {route.path}"
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": request.path,
            "rawQueryString": request.query_string.decode("latin-1"),
            "headers": headers,
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "local",
                "domainName": request.host,
                "domainPrefix": request.host.split(".")[0],
                "http": {
                    "method": request.method,
                    "path": request.path,
                    "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                    "sourceIp": request.remote_addr or "127.0.0.1",
                    "userAgent": request.headers.get("User-Agent", ""),
                },
                "requestId": str(uuid.uuid4()),
                "routeKey": route_key,
                "stage": "$default",
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": is_base64,
        }
        if cookies:
            event["cookies"] = cookies
        if query:
            event["queryStringParameters"] = query
        if path_parameters:
            event["pathParameters"] = path_parameters
        if body is not None:
            event["body"] = body
        if claims is not None:
            event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        return event

    @staticmethod
    def build_response(result: Any) -> Response:
        """Payload format 2.0: a dict with statusCode is a response; anything else is JSON 200."""
        if not (isinstance(result, dict) and "statusCode" in result):
            return Response(json.dumps(result), status=200, content_type="application/json")
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
        response = Response(data, status=int(result["statusCode"]))
        for name, value in (result.get("headers") or {}).items():
            response.headers[name] = str(value)
        for name, values in (result.get("multiValueHeaders") or {}).items():
            for value in values:
                response.headers.add(name, str(value))
        for cookie in result.get("cookies") or []:
            response.headers.add("Set-Cookie", cookie)
        return response
