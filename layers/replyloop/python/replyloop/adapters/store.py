"""The storage port the services depend on; `dynamodb.DynamoStore` implements it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from replyloop.domain.entities import DailyStats, Interaction, InteractionRecord, Page, ReplayRow, Verdict
from replyloop.domain.feedback import FeedbackChange
from replyloop.domain.learning import Job


class ConcurrentChangeError(Exception):
    """The feedback changed between read and write; re-read and plan again."""


@dataclass(frozen=True, slots=True)
class CaptureWrite:
    """One atomic write: a new interaction, a verdict, or both (the one-call feedback log)."""

    interaction: Interaction
    is_new_interaction: bool
    feedback: FeedbackChange | None = None


@dataclass(frozen=True, slots=True)
class ReplayQuery:
    verdict: Verdict | None = None
    assistant_version: str | None = None
    start: date | None = None
    end: date | None = None
    limit: int = 20
    cursor: str | None = None
    order: Literal["newest", "oldest"] = "newest"


class Store(Protocol):
    def get_record(self, interaction_id: str) -> InteractionRecord | None: ...

    def save_capture(self, write: CaptureWrite) -> None: ...

    def list_replay(self, query: ReplayQuery) -> Page: ...

    def daily_stats(self, assistant_version: str | None, start: date, end: date) -> list[DailyStats]: ...

    def latest_not_useful(
        self, assistant_version: str | None, start: date, end: date, limit: int
    ) -> list[ReplayRow]: ...

    def failure_categories(self, topic: str, limit: int) -> list[str]: ...

    def category_days(self, assistant_version: str | None, start: date, end: date) -> dict[date, dict[str, int]]: ...

    def job_sent(self, job: Job) -> None: ...

    def pending_jobs(self, older_than: datetime, limit: int) -> list[Job]: ...

    def review_queue(self, limit: int, cursor: str | None) -> tuple[list[Interaction], str | None]: ...
