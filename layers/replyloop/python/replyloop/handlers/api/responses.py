"""The documented responses of a route: its success status and every error it can answer, in one call.

The success entry carries no `content` on purpose: Powertools then documents it with the route's return
annotation (`-> X` or `-> tuple[X, 201]`), the same camelCase pydantic model that validates and serialises
the response, so the spec cannot drift from what the route sends. Every error body is an ErrorResponse:
the exception handlers and pre-parse checks in handlers/api/__init__.py, and API Gateway's own 401, 413
and 429, all answer `{"message": ...}`.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from replyloop.models.api import ErrorResponse

# Every route is guarded (401/403), validated (422), throttled by API Gateway (429) and reads the data store (503).
EVERY_ROUTE = (401, 403, 422, 429, 503)
# A body is checked before it is parsed: not UTF-8 (400), over MAX_BODY_BYTES (413), not JSON (415).
WITH_BODY = (400, 413, 415)
ERRORS = {
    400: "The request cannot be used (a filter, cursor or body the route refuses)",
    401: "No valid token",
    403: "The token's role does not allow this",
    404: "Not found",
    409: "Conflicts with the current state (already exists, retired, changed meanwhile)",
    413: "The body is larger than the limit (MAX_BODY_BYTES, 64 KiB by default)",
    415: "The body is not JSON: send it with 'Content-Type: application/json'",
    422: "The request does not match its schema; `errors` names each field and what is wrong with it",
    429: "Too many requests: API Gateway's throttle, or your hourly quota of model calls (`Retry-After` says when)",
    503: "The model or the data store is unavailable; try again shortly",
}


def api_responses(
    success: int,
    description: str,
    *errors: int,
    body: bool = False,
    details: Mapping[int, str] | None = None,
) -> dict[int, OpenAPIResponse]:
    """`success` (documented with the route's return annotation) and its errors: `errors`, those every
    route can answer and, when the route takes a body (`body=True`), those of the body checks.
    `details` replaces an error's general description where the route says more (why it answers 403)."""
    if not 200 <= success < 300:
        raise ValueError(f"A success status is 2xx, not {success}.")
    unknown = set(errors) - ERRORS.keys()
    if unknown:
        raise ValueError(f"No description for status {sorted(unknown)}; add it to ERRORS.")
    codes = {*EVERY_ROUTE, *errors, *(WITH_BODY if body else ())}
    stray = set(details or {}) - codes
    if stray:
        raise ValueError(f"Details for statuses the route does not answer: {sorted(stray)}.")
    described = {**ERRORS, **(details or {})}
    documented: dict[int, OpenAPIResponse] = {success: {"description": description}}
    for code in sorted(codes):
        documented[code] = {"description": described[code], "content": {"application/json": {"model": ErrorResponse}}}
    return documented
