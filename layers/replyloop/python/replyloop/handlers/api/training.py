"""The training review (reviewers): which agents' corrections may train under the `reviewed` policy."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from replyloop.handlers.api.responses import api_responses
from replyloop.handlers.api.security import current_principal, require_reviewer
from replyloop.models.training import (
    ReviewStatusParam,
    TrainingExamplePage,
    TrainingExampleView,
    TrainingReviewRequest,
    TrainingReviewResponse,
)
from replyloop.services import training_review
from replyloop.wiring import get_store, get_training_reviews, utc_now

router = APIGatewayHttpRouter()


@router.get(
    "/training-examples",
    middlewares=[require_reviewer],
    summary="Training examples by review status (reviewer)",
    responses=api_responses(200, "One page of training examples, newest first", 400),
)
def list_training_examples(
    status: ReviewStatusParam = "pending",
    topic: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> TrainingExamplePage:
    page = training_review.list_training_examples(
        get_store(), get_training_reviews(), status=status, topic=topic, limit=limit, cursor=cursor
    )
    return TrainingExamplePage(
        items=[TrainingExampleView.of(record) for record in page.records], next_cursor=page.next_cursor
    )


@router.post(
    "/training-examples/review",
    middlewares=[require_reviewer],
    summary="Approve or reject training examples (reviewer; never your own)",
    responses=api_responses(200, "What was approved, rejected, and refused with the reason", 400, body=True),
)
def review_training_examples(body: TrainingReviewRequest) -> TrainingReviewResponse:
    outcome = training_review.review_training_examples(
        get_store(),
        get_training_reviews(),
        approve=body.approve,
        reject=body.reject,
        reviewer=current_principal(router),
        note=body.note,
        now=utc_now(),
    )
    return TrainingReviewResponse.of(outcome)
