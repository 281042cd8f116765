"""The product's nouns as plain, immutable values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Verdict(StrEnum):
    """An agent's verdict on a drafted reply (the seeds' `feedback: "yes" | "no"`)."""

    USEFUL = "yes"
    NOT_USEFUL = "no"

    @classmethod
    def from_useful(cls, useful: bool) -> Verdict:
        return cls.USEFUL if useful else cls.NOT_USEFUL

    @property
    def useful(self) -> bool:
        return self is Verdict.USEFUL


class Source(StrEnum):
    """Who drafted an interaction's reply, as the system knows it (never as a caller claims it)."""

    EXTERNAL = "external"  # recorded by a frontend (POST /api/interactions, /api/feedback-replay)
    REPLYLOOP = "replyloop"  # drafted here (POST /api/replies)
    IMPORTED = "imported"  # history an admin imported (`createdAt` set), counted under the version it names


@dataclass(frozen=True, slots=True)
class Interaction:
    """A customer message and the AI reply drafted for it, tagged with the assistant version.

    `assistant_version` steers analytics (per-version counters, replay index, retrain selection), so
    the system sets it: the drafting version for replyloop's drafts, `external` for anything a frontend
    recorded, whose own tag is kept aside as `external_version`.
    """

    interaction_id: str
    message: str
    ai_reply: str
    assistant_version: str
    created_at: datetime
    created_by: str
    confidence: float | None = None
    conversation_id: str | None = None
    topic: str | None = None
    source: Source = Source.EXTERNAL
    customer_id: str | None = None  # the frontend's id for the customer: what an erasure request names
    external_version: str | None = None  # the version tag a frontend sent; informational only
    confidence_source: Source | None = None  # who computed `confidence`; None without one
    # Set when replyloop drafted the reply itself (POST /api/replies).
    model: str | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    snoozed: bool = False
    confidence_method: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def day(self) -> date:
        """The UTC day the interaction counts on (see docs/data-model.md, Dates)."""
        return self.created_at.date()


@dataclass(frozen=True, slots=True)
class Feedback:
    """An agent's verdict on one interaction, with their own reply when they wrote one."""

    interaction_id: str
    verdict: Verdict
    submitted_at: datetime
    submitted_by: str
    revision: int
    agent_reply: str | None = None
    by_reviewer: bool = False  # the author held the reviewer (or admin) role when they gave it


@dataclass(frozen=True, slots=True)
class TrainingPrompt:
    """The seeds' `buildTrainingPrompt` text for one verdict, rated 1 (useful) or 0."""

    interaction_id: str
    prompt: str
    rating: int


@dataclass(frozen=True, slots=True)
class TrainingExample:
    """Prompt -> completion, where the completion is the reply the agent wrote instead."""

    interaction_id: str
    prompt: str
    completion: str


@dataclass(frozen=True, slots=True)
class DailyStats:
    """Counters for one UTC day, for all versions or one (see docs/data-model.md)."""

    day: date
    interactions: int = 0
    total: int = 0
    useful: int = 0
    not_useful: int = 0
    overrides: int = 0
    snoozed: int = 0
    confidence_sum: float = 0.0
    confidence_count: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a reply failed, and its failure category (from the explain worker)."""

    interaction_id: str
    revision: int
    explanation: str
    failure_category: str
    topic: str
    model: str
    created_at: datetime
    tokens: int = 0  # prompt + completion tokens of the model calls that produced it
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class WhyThisReply:
    """ "Why this reply?": tone, content and helpfulness of the AI reply."""

    interaction_id: str
    tone: str
    content: str
    helpfulness: str
    model: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Score:
    accuracy: int
    completeness: int
    tone: int
    helpfulness: int
    comments: str

    @property
    def overall(self) -> float:
        return (self.accuracy + self.completeness + self.tone + self.helpfulness) / 4


@dataclass(frozen=True, slots=True)
class Improvement:
    """A corrected reply with the judge's scores; `rejected_reason` when it was not kept."""

    interaction_id: str
    revision: int
    original_reply: str
    corrected_reply: str
    rationale: str
    original_score: Score
    corrected_score: Score
    agent_score: Score | None
    score_gain_estimate: float
    failure_category: str | None
    prompt_id: str
    model: str
    created_at: datetime
    rejected_reason: str | None = None
    message: str = ""  # the customer's message (the leaderboard's "prompt")
    tokens: int = 0  # prompt + completion tokens of the correction and the three judgements
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class TrainingReview:
    """A reviewer's decision on whether a "not useful" verdict's reply may train (one verdict revision)."""

    interaction_id: str
    revision: int  # the feedback revision it decided on; a changed verdict needs a new review
    status: str  # "approved" or "rejected"
    reviewed_by: str
    reviewed_at: datetime
    note: str | None = None


@dataclass(frozen=True, slots=True)
class InteractionRecord:
    """Everything stored about one interaction (the replay panel's data)."""

    interaction: Interaction
    feedback: Feedback | None = None  # the current verdict
    training_prompt: TrainingPrompt | None = None
    training_example: TrainingExample | None = None
    explanation: Explanation | None = None
    why: WhyThisReply | None = None
    improvement: Improvement | None = None
    review: TrainingReview | None = None
    history: tuple[Feedback, ...] = ()  # every verdict revision, oldest first (`feedback.verdict_history`)

    @property
    def kept_improvement(self) -> Improvement | None:
        """The correction, unless the correct worker rejected it (near-copy, or no better)."""
        improvement = self.improvement
        return improvement if improvement is not None and not improvement.rejected_reason else None

    @property
    def current_review(self) -> TrainingReview | None:
        """The review of the verdict as it stands; one of an earlier revision no longer counts."""
        review, feedback = self.review, self.feedback
        return review if review is not None and feedback is not None and review.revision == feedback.revision else None


@dataclass(frozen=True, slots=True)
class ReplayRow:
    """One row of the replay tab: an interaction with its verdict."""

    interaction: Interaction
    feedback: Feedback


@dataclass(frozen=True, slots=True)
class Page:
    """A page of rows and the opaque cursor of the next one (None on the last page)."""

    rows: list[ReplayRow] = field(default_factory=list)
    next_cursor: str | None = None
