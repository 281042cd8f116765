"""One Logger, Tracer and Metrics for the whole product (service name from the environment)."""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="replyloop")
tracer = Tracer(service="replyloop")
metrics = Metrics(namespace="Replyloop", service="replyloop")
