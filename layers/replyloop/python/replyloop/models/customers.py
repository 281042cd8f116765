"""Erasure requests and their audit records (`/api/customers`, `/api/erasures`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from replyloop.domain.erasure import Erasure
from replyloop.models.api import ApiModel


class ErasureView(ApiModel):
    erasure_id: str
    status: Literal["pending", "done"] = Field(
        description="`pending` until every item and export line is gone (the sweeper finishes what the request "
        "could not); `done` after."
    )
    customer_digest: str = Field(description="SHA-256 prefix of the customer id: the record holds no personal data.")
    requested_by: str
    requested_at: datetime
    finished_at: datetime | None
    interactions: int = Field(description="Interactions erased so far.")
    items: int = Field(description="Items deleted: interactions, verdicts and their history, training data, results.")
    stress_cases: int
    export_objects: int = Field(description="Export files and manifests rewritten without the customer's lines.")

    @classmethod
    def of(cls, erasure: Erasure) -> ErasureView:
        return cls(
            erasure_id=erasure.erasure_id,
            status=erasure.status.value,
            customer_digest=erasure.customer_digest,
            requested_by=erasure.requested_by,
            requested_at=erasure.requested_at,
            finished_at=erasure.finished_at,
            interactions=erasure.erased.interactions,
            items=erasure.erased.items,
            stress_cases=erasure.erased.stress_cases,
            export_objects=erasure.erased.export_objects,
        )
