"""Usefulness analytics from day counters (never from items)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from replyloop.domain.entities import DailyStats, Interaction

INTERACTION_COUNTERS = (
    "interactions",
    "snoozed",
    "confidence_sum",
    "confidence_count",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
)


def interaction_counters(interaction: Interaction) -> dict[str, float]:
    """What recording one interaction adds to its day's counters; zeros left out."""
    counters: dict[str, float] = {
        "interactions": 1,
        "snoozed": 1 if interaction.snoozed else 0,
        "prompt_tokens": interaction.prompt_tokens,
        "completion_tokens": interaction.completion_tokens,
        "cost_usd": interaction.cost_usd,
    }
    if interaction.confidence is not None:
        counters["confidence_sum"] = interaction.confidence
        counters["confidence_count"] = 1
    return {name: value for name, value in counters.items() if value}


@dataclass(frozen=True, slots=True)
class UsefulnessSummary:
    total: int
    useful: int
    not_useful: int
    overrides: int
    interactions: int
    days: list[DailyStats]
    snoozed: int = 0
    confidence_sum: float = 0.0
    confidence_count: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def useful_rate(self) -> float | None:
        return self.useful / self.total if self.total else None

    @property
    def mean_confidence(self) -> float | None:
        return self.confidence_sum / self.confidence_count if self.confidence_count else None

    @property
    def snooze_rate(self) -> float | None:
        """Share of interactions whose draft was snoozed for review."""
        return self.snoozed / self.interactions if self.interactions else None

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
        snoozed=sum(d.snoozed for d in days),
        confidence_sum=sum(d.confidence_sum for d in days),
        confidence_count=sum(d.confidence_count for d in days),
        prompt_tokens=sum(d.prompt_tokens for d in days),
        completion_tokens=sum(d.completion_tokens for d in days),
        cost_usd=sum(d.cost_usd for d in days),
    )


@dataclass(frozen=True, slots=True)
class CategoryTrend:
    category: str
    count: int
    days: list[tuple[date, int]]


def top_categories(per_day: dict[date, dict[str, int]], start: date, end: date, limit: int = 5) -> list[CategoryTrend]:
    """The window's most frequent failure categories, each with a count for every day."""
    totals: dict[str, int] = {}
    for counts in per_day.values():
        for name, count in counts.items():
            totals[name] = totals.get(name, 0) + count
    ranked = sorted((item for item in totals.items() if item[1] > 0), key=lambda item: (-item[1], item[0]))
    return [
        CategoryTrend(name, total, [(day, per_day.get(day, {}).get(name, 0)) for day in day_range(start, end)])
        for name, total in ranked[:limit]
    ]
