"""Lambda entry point of an SQS worker; the code lives in the replyloop layer."""

from replyloop.handlers.workers import lambda_handler

__all__ = ["lambda_handler"]
