"""Routes about one interaction: record it, read it back, give a verdict on it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit

from replyloop.domain.auth import Role
from replyloop.domain.errors import ForbiddenError
from replyloop.handlers.api.responses import api_responses
from replyloop.handlers.api.security import charge_caller, current_principal, current_roles, require_agent
from replyloop.handlers.observability import metrics
from replyloop.models.api import (
    INTERACTION_ID_PATTERN,
    FeedbackLogRequest,
    FeedbackLogResponse,
    FeedbackRequest,
    FeedbackResponse,
    InteractionFields,
    InteractionView,
    RecordInteractionRequest,
    RecordInteractionResponse,
)
from replyloop.services import capture
from replyloop.wiring import get_job_queue, get_recent_interactions, get_store

router = APIGatewayHttpRouter()

InteractionId = Annotated[str, Path(pattern=INTERACTION_ID_PATTERN, description="The interaction's id.")]


def _draft(body: InteractionFields) -> capture.NewInteraction:
    if body.created_at is not None and Role.ADMIN not in current_roles(router):
        raise ForbiddenError("Only an admin may set 'createdAt' (used to import history).")
    return capture.NewInteraction(
        message=body.message,
        ai_reply=body.ai_reply,
        external_version=body.assistant_version,
        confidence=body.confidence,
        conversation_id=body.conversation_id,
        customer_id=body.customer_id,
        topic=body.topic,
        created_at=body.created_at,
        imported=body.created_at is not None,  # only an admin gets this far with `createdAt`
    )


def _now() -> datetime:
    return datetime.now(UTC)


@router.post(
    "/interactions",
    middlewares=[require_agent],
    summary="Record an interaction drafted elsewhere",
    responses=api_responses(201, "The recorded interaction", body=True),
)
def record_interaction(body: RecordInteractionRequest) -> tuple[RecordInteractionResponse, int]:
    interaction = capture.record_interaction(
        get_store(), _draft(body), actor=current_principal(router), now=_now(), recent=get_recent_interactions()
    )
    metrics.add_metric(name="InteractionsRecorded", unit=MetricUnit.Count, value=1)
    return RecordInteractionResponse.of(interaction), 201


@router.get(
    "/interactions/<interaction_id>",
    middlewares=[require_agent],
    summary="Everything about one interaction (the replay panel)",
    responses=api_responses(200, "The interaction, its verdict and its learning results", 404),
)
def get_interaction(interaction_id: InteractionId) -> InteractionView:
    return InteractionView.of(capture.get_interaction(get_store(), interaction_id, get_recent_interactions()))


@router.post(
    "/interactions/<interaction_id>/feedback",
    middlewares=[require_agent],
    summary="Give or change the verdict on an interaction",
    description="Changing a verdict another agent gave needs the `reviewer` role (or `admin`); the earlier "
    "verdict stays in the interaction's `history`.",
    responses=api_responses(
        200,
        "The verdict as stored",
        404,
        409,
        body=True,
        details={403: "The token's role does not allow this: changing another agent's verdict needs 'reviewer'"},
    ),
)
def record_feedback(interaction_id: InteractionId, body: FeedbackRequest) -> FeedbackResponse:
    feedback = capture.record_feedback(
        get_store(),
        interaction_id,
        useful=body.useful,
        agent_reply=body.agent_reply,
        actor=current_principal(router),
        roles=current_roles(router),
        now=_now(),
        queue=get_job_queue(),
        charge=charge_caller(router),
        recent=get_recent_interactions(),
    )
    metrics.add_metric(name="FeedbackRecorded", unit=MetricUnit.Count, value=1)
    return FeedbackResponse.of(feedback)


@router.post(
    "/feedback-replay",
    middlewares=[require_agent],
    summary="Store a whole exchange and its verdict in one call",
    responses=api_responses(201, "The stored interaction and its verdict", body=True),
)
def record_feedback_log(body: FeedbackLogRequest) -> tuple[FeedbackLogResponse, int]:
    interaction, feedback = capture.record_feedback_log(
        get_store(),
        _draft(body),
        useful=body.feedback == "yes",
        agent_reply=body.agent_reply,
        actor=current_principal(router),
        roles=current_roles(router),
        now=_now(),
        queue=get_job_queue(),
        charge=charge_caller(router),
        recent=get_recent_interactions(),
    )
    metrics.add_metric(name="FeedbackRecorded", unit=MetricUnit.Count, value=1)
    response = FeedbackLogResponse(
        interaction_id=interaction.interaction_id,
        verdict=feedback.verdict.value,
        assistant_version=interaction.assistant_version,
        created_at=interaction.created_at,
    )
    return response, 201
