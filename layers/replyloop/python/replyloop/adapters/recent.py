"""The `RecentInteractions` port in this process's memory: what a verdict write needs, kept for a while.

A verdict's transaction needs the interaction (its message and AI reply for the training prompt, its version
and day for the counters, its review-queue flag) and the verdict it replaces (to move counts, and to check who
may change it). Reading them is a Query before the transaction. An agent gives a verdict within minutes of the
draft or the replay they saw, so the process that served them usually has both already: it recorded the
interaction, read it, or wrote the last verdict itself. What is kept may be stale - another process may have
changed the verdict, an erasure or the retention may have deleted the interaction - so the transaction is
conditioned on exactly what was kept (the interaction exists; the verdict is at that revision, or absent),
and a failed condition reads afresh (`services.capture.record_feedback`).

Bounded: at most `capacity` interactions (least recently used go first), none older than `ttl_seconds`, so
customer text is held in memory only briefly and never past an erasure by more than the TTL; nothing here is
ever served to a reader.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from replyloop.domain.entities import Feedback, Interaction

DEFAULT_CAPACITY = 1_024  # each holds a message and a reply (<= 8,000 characters each): a few MB at most
DEFAULT_TTL_SECONDS = 600.0


class RecentInteractionsInMemory:
    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Interaction, Feedback | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, interaction_id: str) -> tuple[Interaction, Feedback | None] | None:
        with self._lock:
            entry = self._entries.get(interaction_id)
            if entry is None:
                return None
            kept_at, interaction, feedback = entry
            if self._clock() - kept_at > self.ttl_seconds:
                del self._entries[interaction_id]
                return None
            self._entries.move_to_end(interaction_id)
            return interaction, feedback

    def remember(self, interaction: Interaction, feedback: Feedback | None) -> None:
        with self._lock:
            self._entries[interaction.interaction_id] = (self._clock(), interaction, feedback)
            self._entries.move_to_end(interaction.interaction_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def forget(self, interaction_id: str) -> None:
        with self._lock:
            self._entries.pop(interaction_id, None)

    def __len__(self) -> int:
        return len(self._entries)
