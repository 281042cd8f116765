"""Lambda entry point of the HTTP API; the code lives in the replyloop layer."""

from replyloop.handlers import snapstart
from replyloop.handlers.api import include_all, lambda_handler
from replyloop.settings import ApiSettings, load

# Read the environment at cold start: a missing setting stops the container here, by name.
load(ApiSettings)

snapstart.register(warm=include_all)  # SnapStart's runtime hooks (a no-op outside Lambda)

__all__ = ["lambda_handler"]
