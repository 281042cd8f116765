"""Lambda entry point of the outbox sweeper; the code lives in the replyloop layer."""

from replyloop.handlers import snapstart
from replyloop.handlers.sweeper import lambda_handler
from replyloop.settings import SweeperSettings, load

# Read the environment at cold start: a missing setting stops the container here, by name.
load(SweeperSettings)

snapstart.register()  # SnapStart's runtime hooks (a no-op outside Lambda)

__all__ = ["lambda_handler"]
