"""The outbox sweeper: on a schedule, queue the jobs whose sending failed after their verdict was saved."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from replyloop.handlers.observability import discard_unpublished_metrics, logger, metrics, tracer
from replyloop.services.capture import sweep_outbox
from replyloop.settings import SweeperSettings, load
from replyloop.wiring import get_job_queue, get_store


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    discard_unpublished_metrics()
    load(SweeperSettings)
    sent = sweep_outbox(get_store(), get_job_queue(), now=datetime.now(UTC))
    metrics.add_metric(name="OutboxJobsSent", unit=MetricUnit.Count, value=sent)
    if sent:
        logger.warning("Sent jobs left in the outbox", extra={"sent": sent})
    return {"sent": sent}
