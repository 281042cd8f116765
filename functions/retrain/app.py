"""Lambda entry point of the retrain state machine's tasks; the code lives in the replyloop layer."""

from replyloop.handlers.retrain import lambda_handler

__all__ = ["lambda_handler"]
