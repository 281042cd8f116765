"""Erasing one customer's data on request: the audit record and its rules (docs/privacy.md).

An erasure deletes what was stored about the customer's interactions - the messages, replies, verdicts and
their history, training prompts and examples, reviews, explanations and improvements, stress-test cases - and
rewrites the export objects that hold their lines. Figures already counted (day counters, category counts)
stay: they hold no personal data. The record kept afterwards says who erased how much and when, and names the
customer only by a digest, so the audit trail holds no personal data either.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum


class ErasureStatus(StrEnum):
    PENDING = "pending"  # accepted; the api did not finish within its request, the sweeper carries on
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Erased:
    """What one pass removed; passes add up (a pass that finds nothing adds zeros)."""

    interactions: int = 0
    items: int = 0
    stress_cases: int = 0
    export_objects: int = 0

    def __add__(self, other: Erased) -> Erased:
        return Erased(
            self.interactions + other.interactions,
            self.items + other.items,
            self.stress_cases + other.stress_cases,
            self.export_objects + other.export_objects,
        )


@dataclass(frozen=True, slots=True)
class Erasure:
    """One erasure request. `customer_id` is kept only while the work is pending (it is what finds the data);
    a finished erasure keeps `customer_digest` alone."""

    erasure_id: str
    customer_digest: str
    requested_by: str
    requested_at: datetime
    status: ErasureStatus = ErasureStatus.PENDING
    customer_id: str | None = None
    erased: Erased = field(default_factory=Erased)
    finished_at: datetime | None = None

    def finished(self, erased: Erased, now: datetime) -> Erasure:
        return replace(self, status=ErasureStatus.DONE, customer_id=None, erased=erased, finished_at=now)


def customer_digest(customer_id: str) -> str:
    """How the audit record names a customer: a SHA-256 prefix, enough to answer "was X erased?" given X."""
    return hashlib.sha256(customer_id.encode("utf-8")).hexdigest()[:32]


def new_erasure(customer_id: str, requested_by: str, now: datetime) -> Erasure:
    return Erasure(
        erasure_id=uuid.uuid4().hex,
        customer_digest=customer_digest(customer_id),
        requested_by=requested_by,
        requested_at=now,
        customer_id=customer_id,
    )
