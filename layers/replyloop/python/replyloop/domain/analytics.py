"""Usefulness analytics from day counters (never from items)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from replyloop.domain.entities import DailyStats


@dataclass(frozen=True, slots=True)
class UsefulnessSummary:
    total: int
    useful: int
    not_useful: int
    overrides: int
    interactions: int
    days: list[DailyStats]

    @property
    def useful_rate(self) -> float | None:
        return self.useful / self.total if self.total else None

    @property
    def override_rate(self) -> float | None:
        """Share of verdicts where the agent said "no" and wrote their own reply instead."""
        return self.overrides / self.total if self.total else None


def day_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def summarise(stats: Iterable[DailyStats], start: date, end: date) -> UsefulnessSummary:
    """Sum the window and fill days with no activity with zeros, oldest first."""
    by_day = {row.day: row for row in stats if start <= row.day <= end}
    days = [by_day.get(day, DailyStats(day=day)) for day in day_range(start, end)]
    return UsefulnessSummary(
        total=sum(d.total for d in days),
        useful=sum(d.useful for d in days),
        not_useful=sum(d.not_useful for d in days),
        overrides=sum(d.overrides for d in days),
        interactions=sum(d.interactions for d in days),
        days=days,
    )
