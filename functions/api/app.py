"""Lambda entry point of the HTTP API; the code lives in the replyloop layer."""

from replyloop.handlers import snapstart
from replyloop.handlers.api import lambda_handler

snapstart.register()  # SnapStart's runtime hooks (a no-op outside Lambda)

__all__ = ["lambda_handler"]
