"""HTTP models of the assistant: drafting, the review queue, versions and prompts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from replyloop.domain.analytics import UsefulnessSummary
from replyloop.domain.endpoints import shutdown_of
from replyloop.domain.entities import Interaction
from replyloop.domain.prompts import PromptVersion, WordChange
from replyloop.domain.versions import AssistantVersion
from replyloop.domain.watch import Usefulness
from replyloop.models.api import MAX_TEXT, ApiModel, CustomerId, ExternalId, Label, RequestModel, Text, VersionTag
from replyloop.services.promotion_watch import PromotionWatch

ModelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")]
PromptName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
MAX_EXEMPLARS = 50


class DraftReplyRequest(RequestModel):
    message: Text = Field(description="The customer's message.")
    conversation_id: ExternalId | None = None
    customer_id: CustomerId | None = Field(
        default=None, description="The customer's id in your system: `DELETE /api/customers/{customerId}` erases by it."
    )
    topic: Label | None = Field(default=None, description="Skip topic detection and use this topic.")


class DraftReplyResponse(ApiModel):
    interaction_id: str
    reply: str
    confidence: float = Field(description="0-1; see docs/assistant.md for the formula.")
    confidence_method: Literal["logprobs", "agreement"]
    snoozed: bool = Field(description="Below the confidence threshold: queued for human review.")
    assistant_version: str
    model: str
    topic: str
    failure_categories: list[str]
    failure_context: str | None = Field(description="What the prompt told the model to avoid, if anything.")


class ReviewItem(ApiModel):
    interaction_id: str
    message: str
    ai_reply: str
    confidence: float | None
    assistant_version: str
    topic: str | None
    created_at: datetime

    @classmethod
    def of(cls, interaction: Interaction) -> ReviewItem:
        return cls(
            interaction_id=interaction.interaction_id,
            message=interaction.message,
            ai_reply=interaction.ai_reply,
            confidence=interaction.confidence,
            assistant_version=interaction.assistant_version,
            topic=interaction.topic,
            created_at=interaction.created_at,
        )


class ReviewQueuePage(ApiModel):
    items: list[ReviewItem]
    next_cursor: str | None


class VersionView(ApiModel):
    version_tag: str
    model: str
    prompt_name: str
    prompt_version: int
    status: Literal["candidate", "active", "frozen", "retired"]
    created_at: datetime
    activated_at: datetime | None
    description: str
    fine_tune_id: str | None
    trainer: str
    endpoint: str = Field(description="The named endpoint its model is served from (LLM_ENDPOINTS).")
    base_model_shutdown: date | None = Field(
        default=None,
        description="The announced shutdown of its base model (a fine-tune stops with its base), from the "
        "configured table LLM_MODEL_SHUTDOWNS; null when none is announced.",
    )

    @classmethod
    def of(cls, version: AssistantVersion, shutdowns: Mapping[str, date] | None = None) -> VersionView:
        return cls(
            version_tag=version.version_tag,
            model=version.model,
            prompt_name=version.prompt_name,
            prompt_version=version.prompt_version,
            status=version.status.value,
            created_at=version.created_at,
            activated_at=version.activated_at,
            description=version.description,
            fine_tune_id=version.fine_tune_id,
            trainer=version.trainer,
            endpoint=version.endpoint,
            base_model_shutdown=shutdown_of(version.model, shutdowns or {}),
        )


class VersionList(ApiModel):
    items: list[VersionView]
    active: str


class RegisterVersionRequest(RequestModel):
    version_tag: VersionTag
    description: Annotated[str, StringConstraints(max_length=1000)] = ""
    model: ModelName | None = Field(default=None, description="Defaults to the active version's model.")
    prompt_version: int | None = Field(default=None, ge=1, description="Defaults to the active version's.")
    fine_tune_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    endpoint: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,31}$")] | None = Field(
        default=None, description="The named endpoint its model is served from; defaults to the active version's."
    )


class VersionDay(ApiModel):
    date: date
    useful: int
    total: int
    interactions: int
    snoozed: int


class VersionStats(ApiModel):
    version: VersionView
    interactions: int
    total: int
    useful_count: int
    not_useful_count: int
    useful_rate: float | None
    override_rate: float | None
    mean_confidence: float | None
    snooze_rate: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    daily_breakdown: list[VersionDay]

    @classmethod
    def of(cls, version: AssistantVersion, summary: UsefulnessSummary) -> VersionStats:
        return cls(
            version=VersionView.of(version),
            interactions=summary.interactions,
            total=summary.total,
            useful_count=summary.useful,
            not_useful_count=summary.not_useful,
            useful_rate=summary.useful_rate,
            override_rate=summary.override_rate,
            mean_confidence=summary.mean_confidence,
            snooze_rate=summary.snooze_rate,
            prompt_tokens=summary.prompt_tokens,
            completion_tokens=summary.completion_tokens,
            cost_usd=round(summary.cost_usd, 6),
            daily_breakdown=[
                VersionDay(date=d.day, useful=d.useful, total=d.total, interactions=d.interactions, snoozed=d.snoozed)
                for d in summary.days
            ],
        )


class VersionComparison(ApiModel):
    from_: date = Field(alias="from")
    to: date
    versions: list[VersionStats]


class ExemplarModel(RequestModel):
    message: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
    reply: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]


class PromptVersionView(ApiModel):
    name: str
    version: int
    text: str
    improvement_notes: str
    updated_at: datetime
    frozen: bool = Field(description="Has served as (part of) an active version.")
    exemplars: list[ExemplarModel]

    @classmethod
    def of(cls, prompt: PromptVersion) -> PromptVersionView:
        return cls(
            name=prompt.name,
            version=prompt.version,
            text=prompt.text,
            improvement_notes=prompt.improvement_notes,
            updated_at=prompt.updated_at,
            frozen=prompt.frozen,
            exemplars=[ExemplarModel(message=e.message, reply=e.reply) for e in prompt.exemplars],
        )


class PromptVersionList(ApiModel):
    name: str
    items: list[PromptVersionView]


class NewPromptVersionRequest(RequestModel):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
    improvement_notes: Annotated[str, StringConstraints(max_length=4_000)] = ""
    exemplars: list[ExemplarModel] = Field(default_factory=list, max_length=MAX_EXEMPLARS)


class WordChangeView(ApiModel):
    op: Literal["equal", "insert", "delete", "replace"]
    before: str
    after: str

    @classmethod
    def of(cls, change: WordChange) -> WordChangeView:
        return cls.model_validate({"op": change.op, "before": change.before, "after": change.after})


class PromptDiff(ApiModel):
    name: str
    from_: PromptVersionView = Field(alias="from")
    to: PromptVersionView
    unified_diff: str
    words: list[WordChangeView]


class UsefulnessView(ApiModel):
    useful: int
    total: int
    rate: float | None


class PromotionWatchView(ApiModel):
    """The active version's live usefulness since it was activated, against the version before it."""

    status: Literal["nothing_to_compare", "too_few", "holding", "regressed"]
    reason: str
    active: str | None
    previous: str | None
    active_usefulness: UsefulnessView | None
    previous_usefulness: UsefulnessView | None
    z: float | None = Field(default=None, description="Two-proportion z; below -1.645 is a significant fall.")
    rollback_url: str | None = Field(
        default=None, description="POST it (admin) to re-activate the previous version: the one-call rollback."
    )

    @classmethod
    def of(cls, watch: PromotionWatch | None) -> PromotionWatchView:
        if watch is None:
            return cls(
                status="nothing_to_compare",
                reason="The active version has no earlier version to compare with.",
                active=None,
                previous=None,
                active_usefulness=None,
                previous_usefulness=None,
            )
        verdict = watch.verdict

        def view(figures: Usefulness) -> UsefulnessView:
            return UsefulnessView(useful=figures.useful, total=figures.total, rate=figures.rate)

        return cls(
            status=verdict.status,
            reason=verdict.reason,
            active=watch.active.version_tag,
            previous=watch.previous.version_tag,
            active_usefulness=view(verdict.new),
            previous_usefulness=view(verdict.previous),
            z=verdict.z,
            rollback_url=f"/api/versions/{watch.previous.version_tag}/activate",
        )
