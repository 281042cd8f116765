"""Drafting replies with the active assistant version, and the review queue of snoozed drafts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit

from replyloop.domain.deadline import Deadline
from replyloop.domain.quota import Spend
from replyloop.handlers.api.responses import api_responses
from replyloop.handlers.api.security import charge_caller, current_principal, require_agent
from replyloop.handlers.observability import metrics
from replyloop.models.assistant import DraftReplyRequest, DraftReplyResponse, ReviewItem, ReviewQueuePage
from replyloop.services import assistant
from replyloop.wiring import get_llm, get_llm_settings, get_recent_interactions, get_registry, get_store

router = APIGatewayHttpRouter()


@router.post(
    "/replies",
    middlewares=[require_agent],
    summary="Draft a reply with the active assistant version",
    responses=api_responses(201, "The drafted reply, recorded as an interaction", 409, body=True),
)
def draft_reply(body: DraftReplyRequest) -> tuple[DraftReplyResponse, int]:
    charge_caller(router)(Spend.DRAFT)
    settings = get_llm_settings()
    # Both model calls (the draft, then sampling for agreement) fit in what API Gateway's 30 s leave.
    deadline = Deadline(router.lambda_context.get_remaining_time_in_millis, settings.deadline_margin_seconds)
    draft = assistant.draft_reply(
        get_store(),
        get_registry(),
        get_llm().within(deadline),
        settings,
        assistant.DraftRequest(
            message=body.message,
            conversation_id=body.conversation_id,
            customer_id=body.customer_id,
            topic=body.topic,
        ),
        actor=current_principal(router),
        now=datetime.now(UTC),
        recent=get_recent_interactions(),
    )
    interaction = draft.interaction
    metrics.add_metric(name="RepliesDrafted", unit=MetricUnit.Count, value=1)
    if interaction.snoozed:
        metrics.add_metric(name="RepliesSnoozed", unit=MetricUnit.Count, value=1)
    response = DraftReplyResponse(
        interaction_id=interaction.interaction_id,
        reply=interaction.ai_reply,
        confidence=interaction.confidence or 0.0,
        confidence_method="agreement" if interaction.confidence_method == "agreement" else "logprobs",
        snoozed=interaction.snoozed,
        assistant_version=interaction.assistant_version,
        model=interaction.model or "",
        topic=interaction.topic or "",
        failure_categories=draft.failure_categories,
        failure_context=draft.failure_context,
    )
    return response, 201


@router.get(
    "/review-queue",
    middlewares=[require_agent],
    summary="Snoozed low-confidence drafts waiting for a verdict, oldest first",
    responses=api_responses(200, "One page of snoozed drafts", 400),
)
def review_queue(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ReviewQueuePage:
    page = assistant.review_queue(get_store(), limit, cursor)
    return ReviewQueuePage(items=[ReviewItem.of(i) for i in page.items], next_cursor=page.next_cursor)
