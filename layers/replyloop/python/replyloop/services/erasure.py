"""Erase one customer's data on request (`DELETE /api/customers/{customerId}`), and finish what a request
could not (the sweeper). See docs/privacy.md.

Order matters for a pass cut short: export lines and stress-test cases first, the interactions last (each
one's own item last of all), because the interactions are what finds the rest - whatever remains after an
interrupted pass is found again by the next one. Every step is idempotent, so passes may repeat.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from replyloop.domain.erasure import Erased, Erasure, ErasureStatus, new_erasure
from replyloop.domain.errors import NotFoundError, StorageError
from replyloop.ports import CustomerData, ExportFiles, RecentInteractions

logger = logging.getLogger(__name__)

CHUNK = 25  # interactions per round: export objects are read once per round


@dataclass(frozen=True, slots=True)
class ErasureDeps:
    customers: CustomerData
    exports: ExportFiles
    now: Callable[[], datetime]
    seconds_left: Callable[[], float]  # stop starting rounds below `min_seconds`; the sweeper finishes
    min_seconds: float = 5.0
    recent: RecentInteractions | None = None  # this process's kept copies (for one-call verdicts) go too


def request_erasure(deps: ErasureDeps, customer_id: str, requested_by: str) -> Erasure:
    """Record the request (the audit record), then erase as much as this invocation allows."""
    erasure = new_erasure(customer_id, requested_by, deps.now())
    deps.customers.save_erasure(erasure)
    try:
        return carry_on(deps, erasure)
    except StorageError:
        logger.warning("Erasure left pending for the sweeper", extra={"erasureId": erasure.erasure_id}, exc_info=True)
        return erasure


def carry_on(deps: ErasureDeps, erasure: Erasure) -> Erasure:
    """Rounds of up to CHUNK interactions until none is left (done) or time runs short (still pending).

    The index is read again once everything it listed is erased: a reply recorded meanwhile is erased too.
    Ids already erased in this pass are skipped (the index may still list them for a moment)."""
    if erasure.status is ErasureStatus.DONE or erasure.customer_id is None:
        return erasure
    seen: set[str] = set()
    while True:
        ids = [i for i in deps.customers.interactions_of(erasure.customer_id) if i not in seen]
        if not ids:
            done = erasure.finished(erasure.erased, deps.now())
            deps.customers.save_erasure(done)
            logger.info("Customer data erased", extra=_audit(done))
            return done
        for start in range(0, len(ids), CHUNK):
            if deps.seconds_left() < deps.min_seconds:
                return erasure
            chunk = ids[start : start + CHUNK]
            erased = deps.exports.erase_lines(chunk) + Erased(stress_cases=deps.customers.erase_stress_cases(chunk))
            items = sum(deps.customers.erase_interaction(interaction_id) for interaction_id in chunk)
            if deps.recent is not None:
                for interaction_id in chunk:
                    deps.recent.forget(interaction_id)
            erasure = replace(erasure, erased=erasure.erased + erased + Erased(interactions=len(chunk), items=items))
            deps.customers.save_erasure(erasure)
            seen.update(chunk)


def get_erasure(customers: CustomerData, erasure_id: str) -> Erasure:
    erasure = customers.get_erasure(erasure_id)
    if erasure is None:
        raise NotFoundError(f"No erasure {erasure_id!r}.")
    return erasure


def sweep_erasures(deps: ErasureDeps, limit: int = 10) -> list[Erasure]:
    """Finish the erasures a request left pending (the sweeper's schedule)."""
    return [carry_on(deps, erasure) for erasure in deps.customers.pending_erasures(limit)]


def _audit(erasure: Erasure) -> dict[str, object]:
    """What the log line says: who, when and how much - never the customer's id."""
    return {
        "erasureId": erasure.erasure_id,
        "customerDigest": erasure.customer_digest,
        "requestedBy": erasure.requested_by,
        "interactions": erasure.erased.interactions,
        "items": erasure.erased.items,
        "stressCases": erasure.erased.stress_cases,
        "exportObjects": erasure.erased.export_objects,
    }
