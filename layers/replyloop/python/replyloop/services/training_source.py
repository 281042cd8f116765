"""The export's rows from the data table: every "not useful" verdict, with what the training policy decided.

The state machine's export step reads through `StoreSource`; `replyloop export` reads the same rows
through the HTTP API (`operations.export.ApiSource`). Both decide with `domain.training.training_exclusion`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from replyloop.domain.entities import InteractionRecord, ReplayRow, Verdict
from replyloop.domain.training import Earned, FailedReply, TrainingPolicy, training_exclusion
from replyloop.ports import ReplayQuery, Store


class StoreSource:
    """Every "not useful" verdict of the window from the data table (replay index pages, then each record)."""

    def __init__(self, store: Store, policy: TrainingPolicy) -> None:
        self.store, self.policy = store, policy

    def failed(self, start: date, end: date, version: str | None = None) -> Iterator[FailedReply]:
        from replyloop.services.export import iter_pages

        def page(cursor: str | None) -> tuple[list[ReplayRow], str | None]:
            query = ReplayQuery(
                verdict=Verdict.NOT_USEFUL, assistant_version=version, start=start, end=end, limit=100, cursor=cursor
            )
            found = self.store.list_replay(query)
            return found.rows, found.next_cursor

        for row in iter_pages(page):
            record = self.store.get_record(row.interaction.interaction_id)
            if record is not None:
                yield failed_reply(record, self.policy)


def failed_reply(record: InteractionRecord, policy: TrainingPolicy) -> FailedReply:
    """The export's row for one failed interaction, with what the training policy decided about it."""
    improvement, explanation, feedback = record.improvement, record.explanation, record.feedback
    kept = record.kept_improvement
    agent_reply = feedback.agent_reply if feedback else None
    preferred_score = None
    if improvement is not None:
        preferred = kept.corrected_score if kept else (improvement.agent_score if agent_reply else None)
        preferred_score = preferred.overall if preferred else None
    review = record.current_review
    earned = Earned(
        original_score=improvement.original_score.overall if improvement else None,
        preferred_score=preferred_score,
        author=feedback.submitted_by if feedback else None,
        author_is_reviewer=bool(feedback and feedback.by_reviewer),
        review="approved" if review and review.status == "approved" else "rejected" if review else "pending",
        reviewed_by=review.reviewed_by if review else None,
    )
    return FailedReply(
        interaction_id=record.interaction.interaction_id,
        message=record.interaction.message,
        ai_reply=record.interaction.ai_reply,
        agent_reply=agent_reply,
        corrected_reply=kept.corrected_reply if kept else None,
        failure_category=explanation.failure_category if explanation else None,
        explanation=explanation.explanation if explanation else None,
        score_gain=kept.score_gain_estimate if kept else None,
        topic=record.interaction.topic or (explanation.topic if explanation else None),
        version=record.interaction.assistant_version,
        # With no reply to prefer there is nothing to earn: the export names that reason itself.
        excluded_reason=training_exclusion(policy, earned) if (kept or agent_reply) else None,
    )


def late_failures(store: Store, policy: TrainingPolicy, since: datetime, until: date) -> Iterator[FailedReply]:
    """The "not useful" verdicts on interactions created after `since` (e.g. after a run's export)."""
    from replyloop.services.export import iter_pages

    def page(cursor: str | None) -> tuple[list[ReplayRow], str | None]:
        query = ReplayQuery(verdict=Verdict.NOT_USEFUL, start=since.date(), end=until, limit=100, cursor=cursor)
        found = store.list_replay(query)
        return found.rows, found.next_cursor

    for row in iter_pages(page):
        if row.interaction.created_at <= since:
            continue
        record = store.get_record(row.interaction.interaction_id)
        if record is not None:
            yield failed_reply(record, policy)
