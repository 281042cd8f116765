"""Agents changing verdicts at once: counters never drift, never double."""

from __future__ import annotations

import random
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from replyloop.caches import clear_all
from replyloop.domain.auth import Role
from replyloop.domain.errors import BusyError
from replyloop.domain.feedback import plan_feedback
from replyloop.local.dynamodb_local import DynamoDBLocal
from replyloop.local.provision import provision
from replyloop.ports import CaptureWrite, ConcurrentChangeError
from replyloop.services import capture
from replyloop.wiring import get_store
from tests.conflicts import InFlightConflicts
from tests.conftest import TEMPLATE

NOW = datetime.now(UTC)
AGENT = frozenset({Role.AGENT})
REVIEWER = frozenset({Role.AGENT, Role.REVIEWER})  # the races below are between agents changing each other's verdict


def test_a_stale_write_is_refused(stack):
    store = get_store()
    interaction = capture.record_interaction(
        store, capture.NewInteraction(message="m", ai_reply="r"), actor="a", now=NOW
    )
    stale = plan_feedback(interaction, None, useful=True, agent_reply=None, actor="a", roles=REVIEWER, now=NOW)
    capture.record_feedback(
        store, interaction.interaction_id, useful=False, agent_reply=None, actor="b", roles=REVIEWER, now=NOW
    )
    with pytest.raises(ConcurrentChangeError):
        store.save_capture(CaptureWrite(interaction=interaction, is_new_interaction=False, feedback=stale))


def test_a_lost_race_is_retried_on_fresh_data(stack):
    store = get_store()
    interaction = capture.record_interaction(
        store, capture.NewInteraction(message="m", ai_reply="r"), actor="a", now=NOW
    )

    class RacingStore:
        """Lets a competing verdict land between this request's read and its write, once."""

        raced = False

        def get_record(self, interaction_id):
            record = store.get_record(interaction_id)
            if not self.raced:
                self.raced = True
                capture.record_feedback(
                    store, interaction_id, useful=True, agent_reply=None, actor="b", roles=REVIEWER, now=NOW
                )
            return record

        def save_capture(self, write):
            store.save_capture(write)

    feedback = capture.record_feedback(
        RacingStore(), interaction.interaction_id, useful=False, agent_reply="mine", actor="a", roles=REVIEWER, now=NOW
    )
    assert feedback.revision == 2
    stats = store.daily_stats(None, NOW.date(), NOW.date())[0]
    assert (stats.total, stats.useful, stats.not_useful, stats.overrides) == (1, 0, 1, 1)


def many_writers(store, writers: int, interactions_each: int, verdicts_each: int = 4) -> InFlightConflicts:
    """`writers` threads record interactions on one day and give each `verdicts_each` verdicts (changes
    and repeats), while a transaction touching an item another one holds is cancelled with
    `TransactionConflict`, as on DynamoDB. Retries absorb it: totals are exact, no writer fails."""
    conflicts = InFlightConflicts(store._client)
    final: dict[str, bool] = {}
    busy: list[str] = []
    lock = threading.Lock()

    def call(operation, *args, **kwargs):
        while True:  # a client honouring Retry-After sends the same request again
            try:
                return operation(*args, **kwargs)
            except BusyError:
                with lock:
                    busy.append(operation.__name__)

    def writer(number: int) -> None:
        rng = random.Random(number)
        for _ in range(interactions_each):
            draft = capture.NewInteraction(message="m", ai_reply="r", external_version="v1")
            interaction = call(capture.record_interaction, store, draft, actor=f"w{number}", now=NOW)
            verdicts = [rng.random() < 0.5 for _ in range(verdicts_each)]
            for useful in verdicts:
                call(
                    capture.record_feedback,
                    store,
                    interaction.interaction_id,
                    useful=useful,
                    agent_reply=None if useful else "mine",
                    actor=f"w{number}",
                    roles=AGENT,
                    now=NOW,
                )
            with lock:
                final[interaction.interaction_id] = verdicts[-1]

    with ThreadPoolExecutor(writers) as pool:
        for future in [pool.submit(writer, n) for n in range(writers)]:
            future.result()  # no writer raised

    assert conflicts.cancelled > 0  # the writers did collide
    useful = sum(final.values())
    for version in (None, "external"):  # a frontend's "v1" tag counts as external (decisions #24)
        (stats,) = store.daily_stats(version, NOW.date(), NOW.date())
        assert stats.interactions == len(final) == writers * interactions_each
        assert (stats.total, stats.useful, stats.not_useful) == (len(final), useful, len(final) - useful)
        assert stats.overrides == len(final) - useful
    print(f"\n{conflicts.cancelled} conflicts / {conflicts.sent} sent, {len(busy)} busy answers")
    return conflicts


def test_many_writers_on_one_day_count_every_verdict_exactly_once(stack):
    many_writers(get_store(), writers=16, interactions_each=4)  # 320 verdict writes; moto is slow per write


@pytest.fixture
def dynamodb_local(monkeypatch):
    """The template's tables in AWS's DynamoDB Local (real concurrent writes), the rest in moto."""
    if shutil.which("java") is None:
        pytest.skip("needs Java 17+ on PATH")
    server = DynamoDBLocal.installed()
    server.start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", server.endpoint)
        with mock_aws():
            provisioned = provision(TEMPLATE, boto3.Session(region_name="us-east-1"), stack_name="hot-items")
            for key, value in provisioned.shared_environment().items():
                monkeypatch.setenv(key, value)
            clear_all()
            yield get_store()
            clear_all()
    finally:
        server.stop()


def test_640_verdicts_from_16_writers_on_dynamodb_local_are_counted_exactly(dynamodb_local):
    many_writers(dynamodb_local, writers=16, interactions_each=10)
