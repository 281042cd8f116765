"""Documented error responses for the OpenAPI spec (every error body is an ErrorResponse)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from replyloop.models.api import ErrorResponse

UNAUTHORIZED = 401
FORBIDDEN = 403
DESCRIPTIONS = {
    400: "The filter or cursor cannot be used",
    401: "No valid token",
    403: "The token's role does not allow this",
    404: "Not found",
    409: "Conflicts with the current state (already exists, retired, changed meanwhile)",
    503: "The model or the data store is unavailable; try again shortly",
}


def error_responses(*codes: int) -> dict[int, OpenAPIResponse]:
    """The given status codes (plus 401 and 403, which every guarded route can answer)."""
    return {
        code: {
            "description": DESCRIPTIONS[code],
            "content": {"application/json": {"model": ErrorResponse}},
        }
        for code in sorted({UNAUTHORIZED, FORBIDDEN, *codes})
    }
