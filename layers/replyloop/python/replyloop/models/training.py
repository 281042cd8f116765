"""HTTP models of the training review (`/api/training-examples`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from replyloop.domain.entities import InteractionRecord
from replyloop.models.api import (
    INTERACTION_ID_PATTERN,
    ApiModel,
    JudgeScoresView,
    RequestModel,
    TrainingReviewView,
)
from replyloop.services.training_review import ReviewOutcome

InteractionIdField = Field(pattern=INTERACTION_ID_PATTERN)


class TrainingExampleView(ApiModel):
    """The four columns (customer, AI, agent, improved), the judge's scores and who vouches for it."""

    interaction_id: str
    message: str
    ai_reply: str
    agent_reply: str | None
    corrected_reply: str | None = Field(description="The kept correction, when the correct worker made one.")
    judge_scores: JudgeScoresView | None
    topic: str | None
    failure_category: str | None
    assistant_version: str
    submitted_by: str
    by_reviewer: bool = Field(description="The author is a reviewer: it needs no other reviewer's approval.")
    revision: int = Field(description="The verdict's revision a review applies to.")
    review: TrainingReviewView | None

    @classmethod
    def of(cls, record: InteractionRecord) -> TrainingExampleView:
        interaction, feedback, kept = record.interaction, record.feedback, record.kept_improvement
        return cls(
            interaction_id=interaction.interaction_id,
            message=interaction.message,
            ai_reply=interaction.ai_reply,
            agent_reply=feedback.agent_reply if feedback else None,
            corrected_reply=kept.corrected_reply if kept else None,
            judge_scores=JudgeScoresView.of(record.improvement),
            topic=interaction.topic,
            failure_category=record.explanation.failure_category if record.explanation else None,
            assistant_version=interaction.assistant_version,
            submitted_by=feedback.submitted_by if feedback else "unknown",
            by_reviewer=bool(feedback and feedback.by_reviewer),
            revision=feedback.revision if feedback else 0,
            review=TrainingReviewView.of(record.current_review),
        )


class TrainingExamplePage(ApiModel):
    items: list[TrainingExampleView]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")


class TrainingReviewRequest(RequestModel):
    approve: list[str] = Field(default_factory=list, max_length=100, description="Interaction ids to approve.")
    reject: list[str] = Field(default_factory=list, max_length=100, description="Interaction ids to reject.")
    note: str | None = Field(default=None, max_length=2000, description="Why (kept with each review).")


class RefusedReview(ApiModel):
    interaction_id: str
    reason: str


class TrainingReviewResponse(ApiModel):
    approved: list[str]
    rejected: list[str]
    refused: list[RefusedReview] = Field(description="Ids not reviewed, each with the reason (e.g. your own).")

    @classmethod
    def of(cls, outcome: ReviewOutcome) -> TrainingReviewResponse:
        return cls(
            approved=outcome.approved,
            rejected=outcome.rejected,
            refused=[RefusedReview(interaction_id=i, reason=r) for i, r in outcome.refused.items()],
        )


ReviewStatusParam = Literal["pending", "approved", "rejected"]
