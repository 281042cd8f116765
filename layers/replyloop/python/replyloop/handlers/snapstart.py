"""Lambda SnapStart runtime hooks (docs/operations.md, "SnapStart").

With SnapStart, Lambda runs a function's init once when a version is published and resumes new
environments from a snapshot of it. Before the snapshot, load what the first request would otherwise
import (the X-Ray SDK where tracing is on); after a restore, drop every per-process cache, so no SDK
client reuses connections or credentials frozen into the snapshot and each environment opens its own.

`snapshot_restore_py` ships in Lambda's managed Python runtimes; elsewhere (tests, the local stack)
there is no snapshot and registering is skipped.
"""

from __future__ import annotations

from collections.abc import Callable

from replyloop.handlers.observability import xray
from replyloop.handlers.tracing import tracing_enabled

_warmers: list[Callable[[], None]] = []


def before_snapshot() -> None:
    """Load now what the first requests would: the X-Ray SDK where tracing is on, and each function's
    own lazily loaded parts (the api's routers)."""
    if tracing_enabled():
        xray.load()
    for warm in _warmers:
        warm()


def after_restore() -> None:
    from replyloop.caches import clear_all

    clear_all()


def register(warm: Callable[[], None] | None = None) -> bool:
    """Register both hooks (and `warm`, run before the snapshot); False where the runtime has no
    SnapStart library."""
    if warm is not None and warm not in _warmers:
        _warmers.append(warm)
    try:
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:
        return False
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True
