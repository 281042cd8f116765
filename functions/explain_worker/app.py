"""Lambda entry point of an SQS worker; the code lives in the replyloop layer."""

from replyloop.handlers import snapstart
from replyloop.handlers.workers import lambda_handler, warm
from replyloop.settings import WorkerSettings, load

# Read the environment at cold start: a missing setting stops the container here, by name.
load(WorkerSettings)

snapstart.register(warm=warm)  # SnapStart's runtime hooks (a no-op outside Lambda)

__all__ = ["lambda_handler"]
