"""Lambda entry point of the HTTP API; the code lives in the replyloop layer."""

from replyloop.handlers import snapstart
from replyloop.handlers.api import lambda_handler
from replyloop.settings import ApiSettings, load

# Read the environment at cold start: a missing setting stops the container here, by name.
load(ApiSettings)

snapstart.register()  # SnapStart's runtime hooks (a no-op outside Lambda)

__all__ = ["lambda_handler"]
