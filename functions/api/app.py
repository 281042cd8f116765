"""Lambda entry point of the HTTP API; the code lives in the replyloop layer."""

from replyloop.handlers.api import lambda_handler

__all__ = ["lambda_handler"]
