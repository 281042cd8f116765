"""Make moto's DynamoDB behave like DynamoDB under concurrent requests.

DynamoDB applies each request atomically. moto does not lock: its `TransactWriteItems` deep-copies
every table it touches (to roll back on a failed condition) while other threads write to them, so two
workers saving at once can fail with "dictionary changed size during iteration", and a rolled-back
transaction can restore a snapshot over another thread's write. The local stack runs workers
concurrently, as Lambda does, so it serialises moto's DynamoDB requests: one lock around each call
of its request handler. Other services are untouched (an SQS long poll must not block a write).

`python -m replyloop.local.moto_fidelity [moto_server args]` runs moto's server with this applied.
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import Any

_LOCK = threading.RLock()
_MARK = "_replyloop_serialised"


def serialise_dynamodb() -> None:
    """Idempotent: every DynamoDB request moto serves in this process runs under one lock."""
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    def call_action(self: Any) -> Any:
        with _LOCK:
            return original(self)

    setattr(call_action, _MARK, True)
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    from moto.server import main as moto_main

    serialise_dynamodb()
    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
