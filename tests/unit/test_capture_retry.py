"""The capture services' answer to lost races, against fakes of the `Store` port (no AWS)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from replyloop.domain.auth import Role
from replyloop.domain.entities import InteractionRecord
from replyloop.domain.errors import BusyError, ConflictError, StorageError
from replyloop.domain.versions import AssistantVersion
from replyloop.ports import CaptureWrite, Completion, ConcurrentChangeError, WriteConflictError
from replyloop.services import assistant, capture
from replyloop.settings import LlmSettings

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
REVIEWER = frozenset({Role.AGENT, Role.REVIEWER})  # "b" changes what "a" may have given
DRAFT = capture.NewInteraction(message="Where is my order?", ai_reply="It ships today.", external_version="v1")


class FakeStore:
    """Keeps what was written; its first `fail` writes raise `error` (nothing written, as DynamoDB)."""

    def __init__(self, fail: int = 0, error: type[Exception] = WriteConflictError) -> None:
        self.fail, self.error = fail, error
        self.attempts = 0
        self.records: dict[str, InteractionRecord] = {}
        self.writes: list[CaptureWrite] = []
        self.reads = 0

    def save_capture(self, write: CaptureWrite) -> None:
        self.attempts += 1
        if self.fail:
            self.fail -= 1
            raise self.error(write.interaction.interaction_id)
        self.writes.append(write)
        feedback = write.feedback.feedback if write.feedback else None
        self.records[write.interaction.interaction_id] = InteractionRecord(write.interaction, feedback)

    def get_record(self, interaction_id: str) -> InteractionRecord | None:
        self.reads += 1
        return self.records.get(interaction_id)

    def failure_categories(self, topic: str, limit: int) -> list[str]:
        return []

    def job_sent(self, job: object) -> None:
        pass


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """Each pause's jitter bounds (the policy picks uniformly in them); nothing sleeps."""
    asked: list[tuple[float, float]] = []

    def jitter(low: float, high: float) -> float:
        asked.append((low, high))
        return high / 2

    monkeypatch.setattr(capture, "RETRY", replace(capture.RETRY, sleep=lambda _: None, jitter=jitter))
    return asked


def test_a_conflicted_interaction_is_sent_again_with_growing_jittered_pauses(pauses):
    store = FakeStore(fail=4)
    interaction = capture.record_interaction(store, DRAFT, actor="a", now=NOW)
    assert store.attempts == 5
    assert [w.interaction for w in store.writes] == [interaction]  # written once
    policy = capture.RETRY
    assert pauses == [(0.0, min(policy.cap_seconds, policy.base_seconds * 2**n)) for n in range(4)]
    assert pauses[-1][1] > pauses[0][1]


def test_out_of_attempts_is_busy_with_a_retry_after_and_nothing_written(pauses):
    store = FakeStore(fail=100)
    with pytest.raises(BusyError) as busy:
        capture.record_feedback_log(store, DRAFT, useful=True, agent_reply=None, actor="a", now=NOW)
    assert busy.value.retry_after_seconds == capture.RETRY.retry_after_seconds
    assert isinstance(busy.value, StorageError)  # a 503, never a 500
    assert store.attempts == capture.RETRY.attempts
    assert len(pauses) == capture.RETRY.attempts - 1  # no pause after the last attempt
    assert store.writes == []


def test_a_conflicted_verdict_is_planned_again_on_a_fresh_read_and_written_once(pauses):
    store = FakeStore()
    interaction = capture.record_interaction(store, DRAFT, actor="a", now=NOW)
    store.fail = 2
    feedback = capture.record_feedback(
        store, interaction.interaction_id, useful=False, agent_reply="Mine.", actor="b", roles=REVIEWER, now=NOW
    )
    assert (feedback.revision, store.reads, len(pauses)) == (1, 3, 2)
    (verdict,) = [w for w in store.writes if w.feedback]
    assert verdict.feedback is not None and verdict.feedback.counter_deltas["not_useful"] == 1


def test_a_verdict_that_keeps_conflicting_is_busy_one_that_keeps_going_stale_is_a_conflict(pauses):
    for error, expected in ((WriteConflictError, BusyError), (ConcurrentChangeError, ConflictError)):
        store = FakeStore()
        interaction = capture.record_interaction(store, DRAFT, actor="a", now=NOW)
        store.fail, store.error = 100, error
        with pytest.raises(expected):
            capture.record_feedback(
                store, interaction.interaction_id, useful=True, agent_reply=None, actor="b", roles=REVIEWER, now=NOW
            )
        assert len(store.writes) == 1  # only the interaction


def test_a_stale_read_is_re_read_at_once_without_a_pause(pauses):
    store = FakeStore()
    interaction = capture.record_interaction(store, DRAFT, actor="a", now=NOW)
    store.fail, store.error = 1, ConcurrentChangeError
    capture.record_feedback(
        store, interaction.interaction_id, useful=True, agent_reply=None, actor="b", roles=REVIEWER, now=NOW
    )
    assert pauses == []


def test_a_verdict_from_a_kept_copy_writes_without_reading_and_a_cancelled_one_reads_and_charges_once(pauses):
    from replyloop.adapters.recent import RecentInteractionsInMemory
    from replyloop.domain.quota import Spend

    store, recent, charged = FakeStore(), RecentInteractionsInMemory(), []
    interaction = capture.record_interaction(store, DRAFT, actor="a", now=NOW, recent=recent)

    def give(useful: bool) -> int:
        return capture.record_feedback(
            store,
            interaction.interaction_id,
            useful=useful,
            agent_reply=None,
            actor="a",
            roles=frozenset({Role.AGENT}),
            now=NOW,
            charge=charged.append,
            recent=recent,
        ).revision

    # Given the copy this process kept, a verdict is written without a read,
    assert (give(True), store.reads) == (1, 0)
    # and the same verdict again is confirmed on a read (no write could prove the copy right).
    assert (give(True), store.reads) == (1, 1)
    assert [w.feedback.unchanged for w in store.writes if w.feedback] == [False, True]
    # When the write planned from the copy is cancelled (the verdict changed elsewhere), it reads and plans
    # again, and a "no" that queues the workers is charged once, not once per attempt.
    store.fail, store.error = 1, ConcurrentChangeError
    assert (give(False), store.reads) == (2, 2)
    assert charged == [Spend.LEARN]
    assert recent.get(interaction.interaction_id)[1].revision == 2  # the copy follows what was written


class FakeRegistry:
    def active(self):
        version, prompt = assistant.default_assistant("gpt-4o-mini", NOW)
        return version, prompt

    def ensure_defaults(self, version: AssistantVersion, prompt: object) -> None:  # pragma: no cover
        raise AssertionError("the fake always has an active version")


class CountingLlm:
    """A paid model: every call is counted."""

    calls = 0

    def complete(self, messages, **kwargs):
        self.calls += 1
        return [Completion("I refunded it.", [-0.01, -0.02], "gpt-4o-mini", 100, 20)]

    def at(self, endpoint):
        return self


@pytest.mark.parametrize("conflicts", [0, 3, 100])
def test_a_draft_calls_the_model_once_whatever_its_write_meets(pauses, conflicts):
    store, llm = FakeStore(fail=conflicts), CountingLlm()
    request = assistant.DraftRequest(message="I was charged twice")
    settings = LlmSettings()
    if conflicts >= capture.RETRY.attempts:
        with pytest.raises(BusyError):
            assistant.draft_reply(store, FakeRegistry(), llm, settings, request, actor="a", now=NOW)  # type: ignore[arg-type]
        assert store.writes == []
    else:
        draft = assistant.draft_reply(store, FakeRegistry(), llm, settings, request, actor="a", now=NOW)  # type: ignore[arg-type]
        assert [w.interaction for w in store.writes] == [draft.interaction]
    assert llm.calls == 1
    assert store.attempts == min(conflicts + 1, capture.RETRY.attempts)


def test_only_a_pure_transaction_conflict_may_be_sent_again_unchanged():
    from replyloop.adapters.storage import ConditionFailed

    assert ConditionFailed("x", ("TransactionConflict", None, "TransactionConflict")).conflict_only
    assert not ConditionFailed("x", ("ConditionalCheckFailed", "TransactionConflict")).conflict_only
    assert not ConditionFailed("x", ("ConditionalCheckFailed",)).conflict_only
    assert not ConditionFailed("x", ()).conflict_only


def test_shards_are_stable_in_range_and_the_range_bounds_cover_sharded_and_old_keys():
    from datetime import date

    from replyloop.adapters.keys import COUNTER_SHARDS, counter_shard, day_of_sk, day_range_sks, day_sk, shard_day_sk

    ids = [f"{n:032x}" for n in range(2000)]
    shards = [counter_shard(i) for i in ids]
    assert set(shards) == set(range(COUNTER_SHARDS))
    assert max(shards.count(s) for s in set(shards)) < 2 * len(ids) / COUNTER_SHARDS  # spread evenly
    assert counter_shard("abc") == counter_shard("abc") == 891568578 % COUNTER_SHARDS  # crc32, not hash()
    first, last = date(2026, 11, 30), date(2026, 12, 1)
    low, high = day_range_sks(first, last)
    inside = [day_sk(first), shard_day_sk(first, 0), day_sk(last), shard_day_sk(last, COUNTER_SHARDS - 1)]
    outside = [day_sk(date(2026, 11, 29)), shard_day_sk(date(2026, 11, 29), 15), day_sk(date(2026, 12, 2))]
    assert all(low <= sk <= high for sk in inside)
    assert not any(low <= sk <= high for sk in outside)
    assert {day_of_sk(sk) for sk in inside} == {first, last}
