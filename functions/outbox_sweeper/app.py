"""Lambda entry point of the outbox sweeper; the code lives in the replyloop layer."""

from replyloop.handlers.sweeper import lambda_handler

__all__ = ["lambda_handler"]
