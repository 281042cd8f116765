"""Per-user quotas on the routes that spend model calls (docs/privacy.md, "Bounded spend").

A quota counts estimated LLM calls per user per clock hour (UTC). Each route is charged what it can cost at
most, before anything is stored or queued, so a refused request (429, `Retry-After` = the seconds left in the
hour) has done nothing and may simply be sent again later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from replyloop.domain.errors import ReplyloopError


class Spend(StrEnum):
    DRAFT = "draft"  # POST /api/replies: the draft, and one sampling call when logprobs are missing
    WHY = "why"  # "Why this reply?": one structured call
    IMPROVE = "improve"  # "Generate Improved Reply": the correction, its judge calls
    LEARN = "learn"  # a "not useful" verdict that queues the workers: explanation + correction + judge


LLM_CALLS = {Spend.DRAFT: 2, Spend.WHY: 1, Spend.IMPROVE: 4, Spend.LEARN: 5}


class QuotaExceededError(ReplyloopError):
    """This user spent their model calls for the hour; nothing was done."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    calls_per_hour: int  # 0: no quota

    @staticmethod
    def window(now: datetime) -> tuple[str, int]:
        """The hour's key (`2026-12-06T21`) and the whole seconds left in it (at least 1)."""
        start = now.replace(minute=0, second=0, microsecond=0)
        left = (start + timedelta(hours=1) - now).total_seconds()
        return start.strftime("%Y-%m-%dT%H"), max(1, int(left + 0.999))

    def exceeded(self, spend: Spend, now: datetime) -> QuotaExceededError:
        _, left = self.window(now)
        return QuotaExceededError(
            f"You have used your {self.calls_per_hour} model calls for this hour ({spend.value} needs "
            f"{LLM_CALLS[spend]}); try again in {left} s, or ask an admin to raise LlmCallsPerUserHour.",
            retry_after_seconds=left,
        )
