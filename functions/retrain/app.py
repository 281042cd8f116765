"""Lambda entry point of the retrain state machine's tasks; the code lives in the replyloop layer."""

from replyloop.handlers.retrain import lambda_handler
from replyloop.settings import RetrainFunctionSettings, load

# Read the environment at cold start: a missing setting stops the container here, by name.
load(RetrainFunctionSettings)

__all__ = ["lambda_handler"]
