"""The training review: reviewers decide which agents' corrections may train (the `reviewed` policy).

A "not useful" verdict with an agent reply is a training example. Under the `reviewed` training
policy it trains only when the judge prefers its reply to the AI's and either its author is a
reviewer or a *different* reviewer approved it (`domain.training.training_exclusion`). Reviews apply
to one revision of the verdict: a changed verdict is pending again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from replyloop.domain.entities import InteractionRecord, TrainingReview, Verdict
from replyloop.domain.errors import InvalidRequestError
from replyloop.ports import Store, TrainingReviews

MAX_REVIEW_BATCH = 100


@dataclass(frozen=True, slots=True)
class ExamplesPage:
    records: list[InteractionRecord]
    next_cursor: str | None


def list_training_examples(
    store: Store, reviews: TrainingReviews, *, status: str, topic: str | None, limit: int, cursor: str | None
) -> ExamplesPage:
    """One page of training examples with this review status, newest first, each with its whole record."""
    ids, next_cursor = reviews.list_examples(status, topic, limit, cursor)
    records = [record for record in (store.get_record(interaction_id) for interaction_id in ids) if record]
    return ExamplesPage(records=records, next_cursor=next_cursor)


@dataclass(slots=True)
class ReviewOutcome:
    approved: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # interaction id -> why it was not reviewed


def _refusal(record: InteractionRecord | None, reviewer: str) -> str | None:
    if record is None:
        return "no such interaction"
    feedback = record.feedback
    if feedback is None or feedback.verdict is not Verdict.NOT_USEFUL or record.training_example is None:
        return "not a training example (it needs a 'not useful' verdict with an agent reply)"
    if feedback.submitted_by == reviewer:
        return "your own correction: another reviewer must review it"
    return None


def review_training_examples(
    store: Store,
    reviews: TrainingReviews,
    *,
    approve: list[str],
    reject: list[str],
    reviewer: str,
    note: str | None,
    now: datetime,
) -> ReviewOutcome:
    """Approve or reject each named example; one that cannot be reviewed is refused with the reason."""
    both = set(approve) & set(reject)
    if both:
        raise InvalidRequestError(f"Approve or reject, not both: {sorted(both)}.")
    if len(approve) + len(reject) > MAX_REVIEW_BATCH:
        raise InvalidRequestError(f"At most {MAX_REVIEW_BATCH} interactions per review.")
    outcome = ReviewOutcome()
    for status, ids, done in (("approved", approve, outcome.approved), ("rejected", reject, outcome.rejected)):
        for interaction_id in dict.fromkeys(ids):
            record = store.get_record(interaction_id)
            refusal = _refusal(record, reviewer)
            if refusal or record is None or record.feedback is None:
                outcome.refused[interaction_id] = refusal or "no such interaction"
                continue
            review = TrainingReview(interaction_id, record.feedback.revision, status, reviewer, now, note or None)
            if reviews.save_review(review):
                done.append(interaction_id)
            else:
                outcome.refused[interaction_id] = "the verdict changed while you reviewed it: reload and review again"
    return outcome
