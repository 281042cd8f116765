"""The in-memory copies a verdict write is planned from: bounded in number and in age."""

from __future__ import annotations

from datetime import UTC, datetime

from replyloop.adapters.recent import RecentInteractionsInMemory
from replyloop.domain.entities import Feedback, Interaction, Verdict

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def interaction(number: int) -> Interaction:
    return Interaction(f"i{number}", "Where is my order?", "Soon.", "v1", NOW, "agent")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_copy_is_kept_with_its_verdict_until_it_is_older_than_the_ttl():
    clock = Clock()
    recent = RecentInteractionsInMemory(capacity=10, ttl_seconds=600, clock=clock)
    verdict = Feedback("i1", Verdict.USEFUL, NOW, "agent", 1)
    recent.remember(interaction(1), verdict)
    clock.now = 600
    assert recent.get("i1") == (interaction(1), verdict)
    clock.now = 600.5
    assert recent.get("i1") is None
    assert len(recent) == 0  # an expired copy is dropped, not kept


def test_the_least_recently_used_copy_goes_first_when_full():
    recent = RecentInteractionsInMemory(capacity=2, ttl_seconds=600, clock=Clock())
    recent.remember(interaction(1), None)
    recent.remember(interaction(2), None)
    assert recent.get("i1") is not None  # used: i2 is now the least recently used
    recent.remember(interaction(3), None)
    assert [recent.get(f"i{n}") is not None for n in (1, 2, 3)] == [True, False, True]


def test_forget_drops_a_copy():
    recent = RecentInteractionsInMemory(clock=Clock())
    recent.remember(interaction(1), None)
    recent.forget("i1")
    recent.forget("i1")  # forgetting what is not held is fine
    assert recent.get("i1") is None
