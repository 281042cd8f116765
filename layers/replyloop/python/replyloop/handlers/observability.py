"""One Logger, Tracer and Metrics for the whole product."""

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="replyloop")
tracer = Tracer(service="replyloop")
metrics = Metrics(namespace="Replyloop", service="replyloop")

# Read-only routes record no business metric; that is expected, not worth a warning per request.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
