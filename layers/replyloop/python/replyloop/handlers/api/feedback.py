"""Routes over many verdicts: the replay list and usefulness analytics."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from replyloop.domain.entities import Verdict
from replyloop.handlers.api.responses import api_responses
from replyloop.handlers.api.security import require_agent
from replyloop.models.analytics import AnalyticsResponse
from replyloop.models.api import ReplayItem, ReplayPage, VersionTag
from replyloop.ports import ReplayQuery
from replyloop.services import capture
from replyloop.wiring import get_store

router = APIGatewayHttpRouter()

From = Annotated[date | None, Query(alias="from", description="First day (UTC, inclusive), YYYY-MM-DD.")]
To = Annotated[date | None, Query(alias="to", description="Last day (UTC, inclusive), YYYY-MM-DD.")]
Version = Annotated[VersionTag | None, Query(alias="version", description="Only this assistant version.")]


@router.get(
    "/feedback/replay",
    middlewares=[require_agent],
    summary="Interactions with their verdicts, newest first, for the replay tab",
    responses=api_responses(200, "One page of interactions with their verdicts", 400),
)
def list_replay(
    verdict: Annotated[Literal["yes", "no"] | None, Query(description="Only this verdict.")] = None,
    version: Version = None,
    start: From = None,
    end: To = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Rows per page.")] = 20,
    cursor: Annotated[str | None, Query(max_length=2048, description="`nextCursor` of the previous page.")] = None,
    order: Annotated[Literal["newest", "oldest"], Query(description="Sort by the interaction's date.")] = "newest",
) -> ReplayPage:
    page = capture.list_replay(
        get_store(),
        ReplayQuery(
            verdict=Verdict(verdict) if verdict else None,
            assistant_version=version,
            start=start,
            end=end,
            limit=limit,
            cursor=cursor,
            order=order,
        ),
    )
    return ReplayPage(items=[ReplayItem.of(row) for row in page.rows], next_cursor=page.next_cursor)


@router.get(
    "/feedback/analytics",
    middlewares=[require_agent],
    summary="Usefulness over time, from per-day counters (no scans)",
    responses=api_responses(200, "Usefulness over the window", 400),
)
def usefulness_analytics(
    version: Version = None,
    start: From = None,
    end: To = None,
    days: Annotated[int, Query(ge=1, le=366, description="Window length when `from` is omitted.")] = 30,
    top: Annotated[int, Query(ge=0, le=50, description="How many not-useful messages to list.")] = 5,
) -> AnalyticsResponse:
    result = capture.usefulness_analytics(
        get_store(),
        today=datetime.now(UTC).date(),
        start=start,
        end=end,
        days=days,
        assistant_version=version,
        top_negative=top,
    )
    return AnalyticsResponse.of(
        result.start, result.end, result.assistant_version, result.summary, result.top_negative, result.categories
    )
