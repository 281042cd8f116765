"""Erasure on request (admin): one customer's stored data, and the audit record of each erasure."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from aws_lambda_powertools.metrics import MetricUnit

from replyloop.handlers.api.responses import api_responses
from replyloop.handlers.api.security import current_principal, require_admin
from replyloop.handlers.observability import metrics
from replyloop.models.api import CUSTOMER_ID_PATTERN
from replyloop.models.customers import ErasureView
from replyloop.services import erasure
from replyloop.wiring import erasure_deps, get_customer_data

router = APIGatewayHttpRouter()

CustomerIdParam = Annotated[
    str, Path(pattern=CUSTOMER_ID_PATTERN, description="The customer's id in your system, as `customerId` was sent.")
]
ErasureId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The erasure's id.")]


@router.delete(
    "/customers/<customer_id>",
    middlewares=[require_admin],
    summary="Erase one customer's data (admin)",
    description="Deletes the interactions recorded with this `customerId` and everything learned from them "
    "(verdicts and their history, training prompts and examples, reviews, explanations, improvements, stress-test "
    "cases) and rewrites the export files that hold their lines. Counted figures stay: they hold no personal "
    "data. Answers 202 with the erasure's record; `status` is `done`, or `pending` while the sweeper finishes.",
    responses=api_responses(
        202,
        "The erasure's record",
        404,
        details={404: "No route: the path's customer id holds characters no customerId can have"},
    ),
)
def erase_customer(customer_id: CustomerIdParam) -> tuple[ErasureView, int]:
    context = router.lambda_context
    deps = erasure_deps(seconds_left=lambda: context.get_remaining_time_in_millis() / 1000)
    done = erasure.request_erasure(deps, customer_id, current_principal(router))
    metrics.add_metric(name="CustomerErasures", unit=MetricUnit.Count, value=1)
    return ErasureView.of(done), 202


@router.get(
    "/erasures/<erasure_id>",
    middlewares=[require_admin],
    summary="One erasure's record (admin)",
    responses=api_responses(200, "The erasure's record: status and what was erased", 404),
)
def get_erasure(erasure_id: ErasureId) -> ErasureView:
    return ErasureView.of(erasure.get_erasure(get_customer_data(), erasure_id))
