"""The sweeper, on a schedule: queue the jobs whose sending failed after their verdict was saved (the
outbox), finish the customer erasures a request left pending, and watch the active version after a
promotion (a `PromotionRegression` metric, alarmed in the template; with `AUTO_ROLLBACK` it re-activates the
previous version itself)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from replyloop.domain.erasure import ErasureStatus
from replyloop.handlers.observability import discard_unpublished_metrics, logger, metrics, tracer
from replyloop.services.capture import sweep_outbox
from replyloop.services.erasure import sweep_erasures
from replyloop.services.promotion_watch import roll_back, watch_promotion
from replyloop.settings import SweeperSettings, load
from replyloop.wiring import erasure_deps, get_job_queue, get_registry, get_store


def watch(settings: SweeperSettings, now: datetime) -> dict[str, Any]:
    found = watch_promotion(
        get_registry(),
        get_store(),
        min_verdicts=settings.watch_min_verdicts,
        lookback_days=settings.watch_lookback_days,
        now=now,
    )
    if found is None:
        return {"watch": "nothing to compare"}
    regressed = found.verdict.status == "regressed"
    metrics.add_metric(name="PromotionRegression", unit=MetricUnit.Count, value=1 if regressed else 0)
    if regressed:
        extra = {"active": found.active.version_tag, "previous": found.previous.version_tag}
        logger.error(
            "The active version regressed after its promotion", extra={**extra, "reason": found.verdict.reason}
        )
        if settings.auto_rollback:
            found = roll_back(get_registry(), found, now)
            logger.warning("Rolled back to the previous version", extra=extra)
    return {"watch": found.verdict.status, "rolledBack": found.rolled_back}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    discard_unpublished_metrics()
    settings = load(SweeperSettings)
    now = datetime.now(UTC)
    sent = sweep_outbox(get_store(), get_job_queue(), now=now)
    metrics.add_metric(name="OutboxJobsSent", unit=MetricUnit.Count, value=sent)
    if sent:
        logger.warning("Sent jobs left in the outbox", extra={"sent": sent})
    finished = sweep_erasures(erasure_deps(lambda: context.get_remaining_time_in_millis() / 1000))
    erased = sum(1 for erasure in finished if erasure.status is ErasureStatus.DONE)
    return {"sent": sent, **watch(settings, now), "erasuresFinished": erased, "erasuresPending": len(finished) - erased}
