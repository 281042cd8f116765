"""HTTP API models: camelCase JSON outside, snake_case Python inside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
)
from pydantic.alias_generators import to_camel

from replyloop.domain.entities import (
    Feedback,
    Improvement,
    Interaction,
    InteractionRecord,
    ReplayRow,
    Score,
    TrainingReview,
)

MAX_TEXT = 8_000

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_TEXT)]
VersionTag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
# A customer's id is also a URL path segment (`DELETE /api/customers/{customerId}`), so it is limited to
# characters every client and gateway passes through a path unchanged.
CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9._~:@+=-]{1,128}$"
CustomerId = Annotated[str, StringConstraints(pattern=CUSTOMER_ID_PATTERN)]
Confidence = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
EARLIEST_CREATED_AT = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)
INTERACTION_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class ApiModel(BaseModel):
    """Responses: camelCase on the wire."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class RequestModel(ApiModel):
    """Requests: camelCase, and any field we do not know is an error, not silently dropped."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class InteractionFields(RequestModel):
    message: Text = Field(description="The customer's message.")
    ai_reply: Text = Field(description="The reply the AI drafted.")
    assistant_version: VersionTag | None = Field(
        default=None,
        description="The frontend's own version tag for the reply, kept as `externalVersion`. The interaction's "
        "`assistantVersion` is always `external`: only replies replyloop drafted count for a registered version.",
    )
    confidence: Confidence | None = Field(default=None, description="The draft's confidence, 0-1.")
    conversation_id: ExternalId | None = None
    customer_id: CustomerId | None = Field(
        default=None,
        description="The customer's id in your system (letters, digits and `._~:@+=-`, at most 128): "
        "`DELETE /api/customers/{customerId}` erases by it.",
    )
    topic: Label | None = None
    created_at: AwareDatetime | None = Field(
        default=None,
        description="When the reply was drafted, for importing history (admin only); defaults to now.",
    )

    @field_validator("confidence")
    @classmethod
    def _round_confidence(cls, value: float | None) -> float | None:
        """Four decimals are plenty, and keep tiny values inside DynamoDB's number range."""
        return None if value is None else round(value, 4)

    @field_validator("created_at")
    @classmethod
    def _plausible_time(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        try:
            moment = value.astimezone(UTC)
        except OverflowError as error:
            raise ValueError(f"must be on or after {EARLIEST_CREATED_AT.date().isoformat()}") from error
        if moment < EARLIEST_CREATED_AT:
            raise ValueError(f"must be on or after {EARLIEST_CREATED_AT.date().isoformat()}")
        if moment > datetime.now(UTC) + CLOCK_SKEW:
            raise ValueError("must not be in the future")
        return moment


class RecordInteractionRequest(InteractionFields):
    """An interaction drafted elsewhere."""


class RecordInteractionResponse(ApiModel):
    interaction_id: str
    assistant_version: str
    created_at: datetime

    @classmethod
    def of(cls, interaction: Interaction) -> RecordInteractionResponse:
        return cls(
            interaction_id=interaction.interaction_id,
            assistant_version=interaction.assistant_version,
            created_at=interaction.created_at,
        )


class FeedbackRequest(RequestModel):
    useful: StrictBool = Field(description="Was the AI reply useful?")
    agent_reply: OptionalText | None = Field(default=None, description="The reply the agent wrote instead.")


class FeedbackView(ApiModel):
    verdict: Literal["yes", "no"]
    useful: bool
    agent_reply: str | None
    submitted_at: datetime
    submitted_by: str
    revision: int
    by_reviewer: bool = Field(default=False, description="The author held the reviewer (or admin) role.")

    @classmethod
    def of(cls, feedback: Feedback) -> FeedbackView:
        return cls(
            verdict=feedback.verdict.value,
            useful=feedback.verdict.useful,
            agent_reply=feedback.agent_reply,
            submitted_at=feedback.submitted_at,
            submitted_by=feedback.submitted_by,
            revision=feedback.revision,
            by_reviewer=feedback.by_reviewer,
        )


class VerdictRevision(ApiModel):
    """One entry of an interaction's verdict history (append-only)."""

    verdict: Literal["yes", "no"]
    agent_reply: str | None
    submitted_by: str
    submitted_at: datetime
    revision: int

    @classmethod
    def of(cls, feedback: Feedback) -> VerdictRevision:
        return cls(
            verdict=feedback.verdict.value,
            agent_reply=feedback.agent_reply,
            submitted_by=feedback.submitted_by,
            submitted_at=feedback.submitted_at,
            revision=feedback.revision,
        )


class FeedbackResponse(FeedbackView):
    interaction_id: str

    @classmethod
    def of(cls, feedback: Feedback) -> FeedbackResponse:
        return cls(interaction_id=feedback.interaction_id, **FeedbackView.of(feedback).model_dump())


class FeedbackLogRequest(InteractionFields):
    """The seeds' one-call feedback log: the whole exchange and the verdict at once."""

    agent_reply: OptionalText | None = Field(default=None, description="The reply the agent wrote instead.")
    feedback: Literal["yes", "no"] = Field(description='The verdict: "yes" (useful) or "no".')


class FeedbackLogResponse(ApiModel):
    interaction_id: str
    verdict: Literal["yes", "no"]
    assistant_version: str
    created_at: datetime


class TrainingPromptView(ApiModel):
    prompt: str
    rating: int


class ScoreView(ApiModel):
    accuracy: int
    completeness: int
    tone: int
    helpfulness: int
    overall: float
    comments: str

    @classmethod
    def of(cls, score: Score | None) -> ScoreView | None:
        if score is None:
            return None
        return cls(
            accuracy=score.accuracy,
            completeness=score.completeness,
            tone=score.tone,
            helpfulness=score.helpfulness,
            overall=score.overall,
            comments=score.comments,
        )


class JudgeScoresView(ApiModel):
    original: ScoreView | None
    corrected: ScoreView | None
    agent: ScoreView | None

    @classmethod
    def of(cls, improvement: Improvement | None) -> JudgeScoresView | None:
        if improvement is None:
            return None
        return cls(
            original=ScoreView.of(improvement.original_score),
            corrected=ScoreView.of(improvement.corrected_score),
            agent=ScoreView.of(improvement.agent_score),
        )


class WhyThisReplyView(ApiModel):
    tone: str
    content: str
    helpfulness: str
    created_at: datetime


class TrainingReviewView(ApiModel):
    """A reviewer's decision on the verdict's revision `revision` (a changed verdict needs a new one)."""

    status: Literal["approved", "rejected"]
    revision: int
    reviewed_by: str
    reviewed_at: datetime
    note: str | None

    @classmethod
    def of(cls, review: TrainingReview | None) -> TrainingReviewView | None:
        if review is None:
            return None
        return cls(
            status="approved" if review.status == "approved" else "rejected",
            revision=review.revision,
            reviewed_by=review.reviewed_by,
            reviewed_at=review.reviewed_at,
            note=review.note,
        )


class InteractionView(ApiModel):
    """The replay panel: one interaction and everything learned from it."""

    interaction_id: str
    message: str
    ai_reply: str
    agent_reply: str | None
    assistant_version: str = Field(
        description="`external` unless replyloop drafted the reply or an admin imported it (`source`)."
    )
    source: Literal["external", "replyloop", "imported"] = Field(
        description="`replyloop` for a reply drafted here (POST /api/replies), `external` for one a frontend "
        "recorded, `imported` for history an admin imported with `createdAt` (counted under its version)."
    )
    external_version: str | None = Field(description="The version tag the frontend sent, if any; not counted.")
    confidence: float | None
    confidence_source: Literal["external", "replyloop", "imported"] | None = Field(
        description="Who computed `confidence`: `external` when the frontend supplied it as given."
    )
    conversation_id: str | None
    customer_id: str | None = Field(default=None, description="The customer's id the frontend sent, if any.")
    topic: str | None
    created_at: datetime
    created_by: str
    feedback: FeedbackView | None
    history: list[VerdictRevision] = Field(
        description="Every verdict given on the interaction, oldest first; a change appends, nothing is lost."
    )
    training_prompt: TrainingPromptView | None
    snoozed: bool
    explanation: str | None = Field(description="Why the reply failed (explain worker), once it has run.")
    failure_category: str | None
    why_this_reply: WhyThisReplyView | None
    corrected_reply: str | None = Field(description="The improved reply (correct worker), once it has run.")
    improvement_rationale: str | None
    improvement_rejected_reason: str | None = Field(
        description="Set when the corrected reply was not kept (near-copy of the agent's, or no better)."
    )
    score_gain_estimate: float | None
    judge_scores: JudgeScoresView | None
    training_review: TrainingReviewView | None = Field(
        default=None, description="A reviewer's approval or rejection of this verdict for training."
    )

    @classmethod
    def of(cls, record: InteractionRecord) -> InteractionView:
        interaction, feedback = record.interaction, record.feedback
        prompt = record.training_prompt
        explanation, why, improvement = record.explanation, record.why, record.improvement
        return cls(
            interaction_id=interaction.interaction_id,
            message=interaction.message,
            ai_reply=interaction.ai_reply,
            agent_reply=feedback.agent_reply if feedback else None,
            assistant_version=interaction.assistant_version,
            source=interaction.source.value,
            external_version=interaction.external_version,
            confidence=interaction.confidence,
            confidence_source=interaction.confidence_source.value if interaction.confidence_source else None,
            conversation_id=interaction.conversation_id,
            customer_id=interaction.customer_id,
            topic=interaction.topic,
            created_at=interaction.created_at,
            created_by=interaction.created_by,
            feedback=FeedbackView.of(feedback) if feedback else None,
            history=[VerdictRevision.of(entry) for entry in record.history],
            training_prompt=TrainingPromptView(prompt=prompt.prompt, rating=prompt.rating) if prompt else None,
            snoozed=interaction.snoozed,
            explanation=explanation.explanation if explanation else None,
            failure_category=explanation.failure_category if explanation else None,
            why_this_reply=WhyThisReplyView(
                tone=why.tone, content=why.content, helpfulness=why.helpfulness, created_at=why.created_at
            )
            if why
            else None,
            corrected_reply=improvement.corrected_reply if improvement else None,
            improvement_rationale=improvement.rationale if improvement else None,
            improvement_rejected_reason=improvement.rejected_reason if improvement else None,
            score_gain_estimate=improvement.score_gain_estimate if improvement else None,
            judge_scores=JudgeScoresView.of(improvement),
            training_review=TrainingReviewView.of(record.review),
        )


class ReplayItem(ApiModel):
    interaction_id: str
    message: str
    ai_reply: str
    agent_reply: str | None
    verdict: Literal["yes", "no"]
    useful: bool
    assistant_version: str
    topic: str | None
    confidence: float | None
    created_at: datetime
    submitted_at: datetime

    @classmethod
    def of(cls, row: ReplayRow) -> ReplayItem:
        interaction, feedback = row.interaction, row.feedback
        return cls(
            interaction_id=interaction.interaction_id,
            message=interaction.message,
            ai_reply=interaction.ai_reply,
            agent_reply=feedback.agent_reply,
            verdict=feedback.verdict.value,
            useful=feedback.verdict.useful,
            assistant_version=interaction.assistant_version,
            topic=interaction.topic,
            confidence=interaction.confidence,
            created_at=interaction.created_at,
            submitted_at=feedback.submitted_at,
        )


class ReplayPage(ApiModel):
    items: list[ReplayItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ErrorDetail(ApiModel):
    location: str
    message: str


class ErrorResponse(ApiModel):
    message: str = Field(description="What went wrong, and what to do about it.")
    errors: list[ErrorDetail] | None = None


class JobAccepted(ApiModel):
    interaction_id: str
    step: Literal["explain", "why", "correct"]
    revision: int
    status_url: str = Field(description="GET it to see the result once the worker has run.")
