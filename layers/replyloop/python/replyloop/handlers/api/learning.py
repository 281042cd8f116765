"""Routes of the learning loop: "why this reply?", "generate improved reply", the leaderboard."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from replyloop.domain.learning import Step
from replyloop.handlers.api.responses import api_responses
from replyloop.handlers.api.security import charge_caller, require_agent
from replyloop.models.analytics import Leaderboard, LeaderboardItem
from replyloop.models.api import INTERACTION_ID_PATTERN, JobAccepted, Label
from replyloop.services import learning
from replyloop.wiring import get_job_queue, get_learning_store, get_store

router = APIGatewayHttpRouter()

InteractionId = Annotated[str, Path(pattern=INTERACTION_ID_PATTERN, description="The interaction's id.")]


def _accepted(interaction_id: str, step: Step) -> tuple[JobAccepted, int]:
    job = learning.request_job(get_store(), get_job_queue(), interaction_id, step, charge=charge_caller(router))
    accepted = JobAccepted(
        interaction_id=job.interaction_id,
        step=job.step.value,
        revision=job.revision,
        status_url=f"/api/interactions/{job.interaction_id}",
    )
    return accepted, 202


@router.post(
    "/interactions/<interaction_id>/explain",
    middlewares=[require_agent],
    summary='"Why this reply?": queue an explanation of its tone, content and helpfulness',
    responses=api_responses(202, "The explanation is queued; GET `statusUrl` for its result", 404),
)
def explain_reply(interaction_id: InteractionId) -> tuple[JobAccepted, int]:
    return _accepted(interaction_id, Step.WHY)


@router.post(
    "/interactions/<interaction_id>/improve",
    middlewares=[require_agent],
    summary="Generate Improved Reply: queue a corrected reply, judged against the original",
    responses=api_responses(202, "The improved reply is queued; GET `statusUrl` for its result", 400, 404),
)
def improve_reply(interaction_id: InteractionId) -> tuple[JobAccepted, int]:
    return _accepted(interaction_id, Step.CORRECT)


@router.get(
    "/improvements/leaderboard",
    middlewares=[require_agent],
    summary="Most improved replies, highest estimated score gain first",
    responses=api_responses(200, "The most improved replies", 400),
)
def leaderboard(
    category: Annotated[Label | None, Query(description="Only this failure category.")] = None,
    start: Annotated[date | None, Query(alias="from", description="First day (UTC), YYYY-MM-DD.")] = None,
    end: Annotated[date | None, Query(alias="to", description="Last day (UTC), YYYY-MM-DD.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Leaderboard:
    rows = learning.leaderboard(get_learning_store(), category, start, end, limit)
    return Leaderboard(
        items=[
            LeaderboardItem(
                interaction_id=row.interaction_id,
                prompt=row.message,
                original_reply=row.original_reply,
                corrected_reply=row.corrected_reply,
                score_gain_estimate=row.score_gain_estimate,
                failure_category=row.failure_category,
                created_at=row.created_at,
                link=f"/api/interactions/{row.interaction_id}",
            )
            for row in rows
        ]
    )
