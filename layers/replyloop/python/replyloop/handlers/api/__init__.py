"""The `api` function: one Powertools resolver for every HTTP route.

Routers are included on first use: a request imports the router(s) of its path's first segment under
`/api` (with their models and services), so a cold start pays only for what its request uses. The spec
(`/openapi.json`, `/docs`) and any other path include them all. `include_all()` is what the SnapStart
hook runs before the snapshot, so a restored environment has every route loaded.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import json
import threading
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from replyloop import __version__
from replyloop.domain.errors import (
    BusyError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    LlmUnavailableError,
    NotFoundError,
    StorageError,
)
from replyloop.domain.quota import QuotaExceededError
from replyloop.handlers.observability import discard_unpublished_metrics, logger, metrics, tracer
from replyloop.settings import ApiSettings, load

app = APIGatewayHttpResolver(enable_validation=True)
# The first path segment under /api -> the router modules (handlers/api/<name>.py) whose routes start with it.
ROUTERS: dict[str, tuple[str, ...]] = {
    "interactions": ("interactions", "learning"),
    "feedback-replay": ("interactions",),
    "feedback": ("feedback",),
    "replies": ("assistant",),
    "review-queue": ("assistant",),
    "versions": ("versions",),
    "prompts": ("versions",),
    "improvements": ("learning",),
    "stress-tests": ("stress",),
    "retrain-runs": ("retrain",),
    "training-examples": ("training",),
    "customers": ("customers",),
    "erasures": ("customers",),
}
ALL_ROUTERS = (
    "interactions",
    "feedback",
    "assistant",
    "versions",
    "learning",
    "stress",
    "retrain",
    "training",
    "customers",
)
_included: set[str] = set()
_including = threading.Lock()


def include_routers(names: tuple[str, ...]) -> None:
    """Import and include each named router once (thread-safe; the order of inclusion does not matter:
    no two routers' paths overlap)."""
    missing = [name for name in names if name not in _included]
    if not missing:
        return
    with _including:
        for name in missing:
            if name not in _included:
                module = importlib.import_module(f"replyloop.handlers.api.{name}")
                app.include_router(module.router, prefix="/api")
                _included.add(name)


def include_all() -> None:
    """Every router, and the Swagger UI at /docs (Powertools imports its OpenAPI models to enable it)."""
    include_routers(ALL_ROUTERS)
    with _including:
        if "docs" not in _included:
            app.enable_swagger(
                path="/docs",
                title="replyloop API",
                version=__version__,
                description="Capture AI-drafted support replies and the verdicts of the agents who correct them.",
            )
            _included.add("docs")


def routers_for(path: str) -> tuple[str, ...]:
    """The routers a request path needs: its segment's under /api; every router for anything else (the
    spec and Swagger UI describe them all; an unknown /api segment needs none and gets the 404)."""
    if not path.startswith("/api/"):
        return ALL_ROUTERS
    return ROUTERS.get(path[len("/api/") :].split("/", 1)[0], ())


def _error(status: HTTPStatus, message: str, errors: list[dict[str, str]] | None = None) -> Response:
    body: dict[str, Any] = {"message": message}
    if errors:
        body["errors"] = errors
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


def _location(loc: Any) -> str:
    return ".".join(str(part) for part in loc) if isinstance(loc, list | tuple) else str(loc)


@app.exception_handler(RequestValidationError)
def invalid_request(error: RequestValidationError) -> Response:
    details = [
        {
            "location": _location(item.get("loc", ())),
            "message": str(item.get("msg") or item.get("type", "invalid")),
        }
        for item in error.errors()
    ]
    summary = "; ".join(f"{d['location']}: {d['message']}" for d in details[:3])
    return _error(HTTPStatus.UNPROCESSABLE_ENTITY, f"The request is not valid: {summary}", details)


@app.exception_handler(RequestUnsupportedContentType)
def unsupported_content_type(_: RequestUnsupportedContentType) -> Response:
    return _error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Send the body as JSON with 'Content-Type: application/json'.")


@app.exception_handler(NotFoundError)
def not_found(error: NotFoundError) -> Response:
    return _error(HTTPStatus.NOT_FOUND, str(error))


@app.exception_handler(InvalidRequestError)
def bad_request(error: InvalidRequestError) -> Response:
    return _error(HTTPStatus.BAD_REQUEST, str(error))


@app.exception_handler(ForbiddenError)
def forbidden(error: ForbiddenError) -> Response:
    return _error(HTTPStatus.FORBIDDEN, str(error))


@app.exception_handler(ConflictError)
def conflict(error: ConflictError) -> Response:
    return _error(HTTPStatus.CONFLICT, str(error))


@app.exception_handler(StorageError)
def storage_unavailable(error: StorageError) -> Response:
    logger.exception("Storage failed")
    return _error(HTTPStatus.SERVICE_UNAVAILABLE, "The service could not reach its data store; try again shortly.")


@app.exception_handler(BusyError)
def busy(error: BusyError) -> Response:
    """Writes kept losing races for the same counters: nothing was stored; the client may send it again."""
    logger.warning("Write contention", extra={"reason": str(error)})
    response = _error(HTTPStatus.SERVICE_UNAVAILABLE, str(error))
    response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


@app.exception_handler(QuotaExceededError)
def over_quota(error: QuotaExceededError) -> Response:
    """The caller spent their model calls for the hour: nothing was done; `Retry-After` says when to come back."""
    logger.info("Quota exceeded", extra={"retryAfter": error.retry_after_seconds})
    response = _error(HTTPStatus.TOO_MANY_REQUESTS, str(error))
    response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


@app.exception_handler(LlmUnavailableError)
def llm_unavailable(error: LlmUnavailableError) -> Response:
    logger.warning("LLM unavailable", extra={"reason": str(error)})
    return _error(HTTPStatus.SERVICE_UNAVAILABLE, str(error))


@app.not_found
def route_not_found(_: Exception) -> Response:
    return _error(HTTPStatus.NOT_FOUND, f"No route {app.current_event.http_method} {app.current_event.path}.")


@app.get("/openapi.json", include_in_schema=False)
def openapi_spec() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(
            title="replyloop API", version=__version__, description="See /docs for the interactive reference."
        )
    )
    return spec


def _refuse_before_parsing(event: dict[str, Any]) -> Response | None:
    """Checks that must run before Powertools parses the body (it would parse any size)."""
    body = event.get("body")
    if not body:
        return None
    content_type = (event.get("headers") or {}).get("content-type", "").strip().lower()
    if content_type and not content_type.startswith("application/json"):
        return _error(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"The body is sent as {content_type!r}; send JSON with 'Content-Type: application/json'.",
        )
    limit = load(ApiSettings).max_body_bytes
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
            raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return _error(HTTPStatus.BAD_REQUEST, "The body is not UTF-8 text; send JSON.")
        size = len(raw)
    else:
        size = len(body.encode("utf-8", errors="replace"))
    if size > limit:
        return _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"The body is {size} bytes; the limit is {limit}.")
    return None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    discard_unpublished_metrics()
    load(ApiSettings)  # the cold start fails here, naming any missing setting
    refused = _refuse_before_parsing(event)
    if refused is not None:
        return _as_proxy_response(refused)
    needed = routers_for(str(event.get("rawPath") or ""))
    if needed == ALL_ROUTERS:
        include_all()
    else:
        include_routers(needed)
    return app.resolve(event, context)


def _as_proxy_response(response: Response) -> dict[str, Any]:
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps(response.body),
        "isBase64Encoded": False,
    }
