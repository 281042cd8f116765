"""What a frontend's interaction counts as: the system sets the fields that steer analytics (no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime

from replyloop.domain.analytics import interaction_counters
from replyloop.domain.entities import Source
from replyloop.ports import CaptureWrite
from replyloop.services import capture

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


class RecordingStore:
    def __init__(self) -> None:
        self.writes: list[CaptureWrite] = []

    def save_capture(self, write: CaptureWrite) -> None:
        self.writes.append(write)

    def job_sent(self, job: object) -> None:
        pass


def test_a_frontends_version_tag_is_kept_aside_and_the_interaction_counts_as_external():
    store = RecordingStore()
    draft = capture.NewInteraction(message="m", ai_reply="r", external_version="v3", confidence=0.9)
    interaction = capture.record_interaction(store, draft, actor="a", now=NOW)
    assert (interaction.assistant_version, interaction.source, interaction.external_version) == (
        "external",
        Source.EXTERNAL,
        "v3",
    )
    assert (interaction.confidence, interaction.confidence_source) == (0.9, Source.EXTERNAL)
    assert interaction_counters(interaction)["confidence_count"] == 1  # kept as given, in the external figures


def test_the_one_call_log_follows_the_same_rule_and_no_confidence_has_no_source():
    store = RecordingStore()
    draft = capture.NewInteraction(message="m", ai_reply="r", external_version="v1")
    interaction, feedback = capture.record_feedback_log(
        store, draft, useful=False, agent_reply="Mine.", actor="a", now=NOW
    )
    assert (interaction.assistant_version, interaction.external_version, interaction.confidence_source) == (
        "external",
        "v1",
        None,
    )
    (write,) = store.writes
    assert write.feedback is not None and write.feedback.history_entry == feedback
