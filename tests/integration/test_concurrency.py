"""Two agents changing one verdict at once: counters never drift."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from replyloop.domain.feedback import plan_feedback
from replyloop.ports import CaptureWrite, ConcurrentChangeError
from replyloop.services import capture
from replyloop.wiring import get_store

NOW = datetime.now(UTC)


def test_a_stale_write_is_refused(stack):
    store = get_store()
    interaction = capture.record_interaction(
        store, capture.NewInteraction(message="m", ai_reply="r"), actor="a", now=NOW
    )
    stale = plan_feedback(interaction, None, useful=True, agent_reply=None, actor="a", now=NOW)
    capture.record_feedback(store, interaction.interaction_id, useful=False, agent_reply=None, actor="b", now=NOW)
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
                capture.record_feedback(store, interaction_id, useful=True, agent_reply=None, actor="b", now=NOW)
            return record

        def save_capture(self, write):
            store.save_capture(write)

    feedback = capture.record_feedback(
        RacingStore(), interaction.interaction_id, useful=False, agent_reply="mine", actor="a", now=NOW
    )
    assert feedback.revision == 2
    stats = store.daily_stats(None, NOW.date(), NOW.date())[0]
    assert (stats.total, stats.useful, stats.not_useful, stats.overrides) == (1, 0, 1, 1)
