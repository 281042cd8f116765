"""How much of an invocation is left, and how a model call fits in it (pure arithmetic, no clock of its own).

Lambda kills an invocation at its timeout, mid-call and without a word; an SQS batch killed that way
comes back whole. So every model call is fitted into what is left: a `Deadline` is the invocation's
remaining time (Lambda's `context.get_remaining_time_in_millis`) less a safety margin kept for the work
after the call (writing the result, answering), and `fit_call` turns it into one call's per-attempt
timeout and retry count. The SDK still does the retrying; we only tell it how much it may.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Deadline:
    """One invocation's time: `remaining_ms` is read on every question, so later calls see less."""

    remaining_ms: Callable[[], int]
    margin_seconds: float = 0.0

    def seconds_left(self) -> float:
        """Seconds until the invocation must have finished its model calls (never negative)."""
        return max(0.0, self.remaining_ms() / 1000 - self.margin_seconds)


@dataclass(frozen=True, slots=True)
class CallBudget:
    timeout_seconds: float  # per attempt
    max_retries: int

    def worst_case_seconds(self, initial_backoff: float, max_backoff: float) -> float:
        """Every attempt running to its timeout, with the longest backoff between them."""
        return (self.max_retries + 1) * self.timeout_seconds + backoff_total(
            self.max_retries, initial_backoff, max_backoff
        )


def backoff_total(retries: int, initial: float, maximum: float) -> float:
    """The SDK's exponential backoff before `retries` retries, at its longest (its jitter only shortens it)."""
    return sum(min(initial * 2**n, maximum) for n in range(retries))


def fit_call(
    seconds_left: float,
    *,
    timeout_seconds: float,
    max_retries: int,
    min_attempt_seconds: float,
    initial_backoff: float,
    max_backoff: float,
) -> CallBudget | None:
    """The largest share of the configured attempts that finishes within `seconds_left`; None if none can.

    Keeps as many of the configured retries as give every attempt at least `min_attempt_seconds`; each
    attempt then gets an equal share of what is left after the backoffs, never more than the configured
    `timeout_seconds`. So a retry is never started that could not finish before the deadline.
    """
    for retries in range(max_retries, -1, -1):
        share = (seconds_left - backoff_total(retries, initial_backoff, max_backoff)) / (retries + 1)
        if share >= min_attempt_seconds:
            return CallBudget(timeout_seconds=min(timeout_seconds, share), max_retries=retries)
    return None
