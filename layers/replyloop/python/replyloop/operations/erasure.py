"""`replyloop erase`: erase one customer's data through the HTTP API and wait until nothing is left."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable

from replyloop.models.customers import ErasureView
from replyloop.operations.api import Api


def erase_customer(
    api: Api,
    customer_id: str,
    *,
    wait_seconds: float,
    poll_seconds: float = 5.0,
    progress: Callable[[ErasureView], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
) -> ErasureView:
    """Ask for the erasure; while it is pending (the sweeper finishes it) poll it for up to `wait_seconds`."""
    erasure = ErasureView.model_validate(api.delete(f"/api/customers/{urllib.parse.quote(customer_id, safe='')}"))
    deadline = time.monotonic() + wait_seconds
    while erasure.status == "pending" and time.monotonic() < deadline:
        progress(erasure)
        sleep(poll_seconds)
        erasure = ErasureView.model_validate(api.get(f"/api/erasures/{erasure.erasure_id}"))
    return erasure
