"""One Logger, Tracer and Metrics for the whole product."""

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from replyloop.handlers.tracing import LazyXRayProvider

logger = Logger(service="replyloop")
# X-Ray through a provider that imports its SDK on the first traced call (tracing.py says why).
xray = LazyXRayProvider()
tracer = Tracer(service="replyloop", provider=xray)
metrics = Metrics(namespace="Replyloop", service="replyloop")

# Read-only routes record no business metric; that is expected, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


def discard_unpublished_metrics() -> None:
    """Where metrics are disabled (the local stack, tests), Powertools keeps them instead of publishing,
    and prints them all once 100 pile up. Drop them at the start of each invocation."""
    if is_metrics_disabled():
        metrics.clear_metrics()
