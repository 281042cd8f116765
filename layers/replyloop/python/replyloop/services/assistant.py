"""The assistant: draft replies with the active version, and manage versions and prompts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from replyloop.domain.analytics import UsefulnessSummary, summarise
from replyloop.domain.confidence import agreement, confidence_from_logprobs
from replyloop.domain.entities import Interaction, Source
from replyloop.domain.errors import ConflictError, InvalidRequestError, NotFoundError
from replyloop.domain.prompts import (
    DEFAULT_PROMPT_NAME,
    DEFAULT_PROMPT_TEXT,
    Exemplar,
    PromptVersion,
    WordChange,
    build_draft_messages,
    diff_prompts,
    failure_context,
)
from replyloop.domain.topics import detect_topic
from replyloop.domain.versions import DEFAULT_VERSION_TAG, AssistantVersion, VersionStatus
from replyloop.ports import CaptureWrite, Completion, Llm, RecentInteractions, Registry, Store
from replyloop.services.capture import MAX_ANALYTICS_DAYS, new_interaction_id, save_with_retry
from replyloop.settings import LlmSettings

FAILURE_CATEGORIES_IN_PROMPT = 3
SAMPLING_TEMPERATURE = 0.9


def default_assistant(model: str, now: datetime) -> tuple[AssistantVersion, PromptVersion]:
    prompt = PromptVersion(
        name=DEFAULT_PROMPT_NAME,
        version=1,
        text=DEFAULT_PROMPT_TEXT,
        updated_at=now,
        improvement_notes="The first prompt.",
        frozen=True,
    )
    version = AssistantVersion(
        version_tag=DEFAULT_VERSION_TAG,
        model=model,
        prompt_name=prompt.name,
        prompt_version=prompt.version,
        status=VersionStatus.ACTIVE,
        created_at=now,
        description="The first assistant version.",
        activated_at=now,
    )
    return version, prompt


def active_assistant(
    registry: Registry, settings: LlmSettings, now: datetime
) -> tuple[AssistantVersion, PromptVersion]:
    """The version drafting new replies; v1 with the default prompt is created on first use."""
    found = registry.active()
    if found is None:
        registry.ensure_defaults(*default_assistant(settings.draft_model, now))
        found = registry.active()
    if found is None:  # pragma: no cover - ensure_defaults either wrote it or someone else did
        raise ConflictError("No active assistant version; try again.")
    return found


@dataclass(frozen=True, slots=True)
class DraftRequest:
    message: str
    conversation_id: str | None = None
    customer_id: str | None = None
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    interaction: Interaction
    failure_categories: list[str]
    failure_context: str | None


def _score(
    llm: Llm, messages: list[dict[str, str]], first: Completion, model: str, samples: int
) -> tuple[float, str, list[Completion]]:
    """Confidence from logprobs, else from the agreement of extra samples (see domain/confidence.py)."""
    from_logprobs = confidence_from_logprobs(first.token_logprobs or [])
    if from_logprobs is not None:
        return from_logprobs, "logprobs", []
    extra = llm.complete(messages, model=model, temperature=SAMPLING_TEMPERATURE, logprobs=False, n=samples - 1)
    score = agreement([first.text, *(c.text for c in extra)])
    return (score if score is not None else 0.0), "agreement", extra


def draft_reply(
    store: Store,
    registry: Registry,
    llm: Llm,
    settings: LlmSettings,
    request: DraftRequest,
    *,
    actor: str,
    now: datetime,
    recent: RecentInteractions | None = None,
) -> Draft:
    """Draft with the active version, score it, snooze it when unsure, and record the interaction (kept in
    `recent`: the agent's verdict on it usually follows)."""
    version, prompt = active_assistant(registry, settings, now)
    topic = detect_topic(request.message, request.topic)
    categories = store.failure_categories(topic, FAILURE_CATEGORIES_IN_PROMPT)
    messages = build_draft_messages(prompt, request.message, categories)
    llm = llm.at(version.endpoint)  # where this version's model is served
    (first,) = llm.complete(
        messages,
        model=version.model,
        temperature=settings.draft_temperature,
        logprobs=True,
        max_tokens=settings.max_reply_tokens,
    )
    confidence, method, extra = _score(llm, messages, first, version.model, settings.agreement_samples)
    calls = [first, *extra]
    prompt_tokens = sum(c.prompt_tokens for c in calls)
    completion_tokens = sum(c.completion_tokens for c in calls)
    interaction = Interaction(
        interaction_id=new_interaction_id(),
        message=request.message,
        ai_reply=first.text,
        assistant_version=version.version_tag,
        created_at=now,
        created_by=actor,
        confidence=round(confidence, 4),
        conversation_id=request.conversation_id,
        customer_id=request.customer_id,
        topic=topic,
        source=Source.REPLYLOOP,
        confidence_source=Source.REPLYLOOP,
        model=first.model,
        prompt_name=prompt.name,
        prompt_version=prompt.version,
        snoozed=confidence < settings.confidence_threshold,
        confidence_method=method,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=settings.cost_usd(first.model, prompt_tokens, completion_tokens),
    )
    save_with_retry(store, CaptureWrite(interaction=interaction, is_new_interaction=True))  # the write alone is retried
    if recent is not None:
        recent.remember(interaction, None)
    return Draft(interaction, categories, failure_context(categories))


# -- versions -------------------------------------------------------------------------------------


def list_versions(registry: Registry, settings: LlmSettings, now: datetime) -> list[AssistantVersion]:
    active_assistant(registry, settings, now)
    return sorted(registry.list_versions(), key=lambda v: v.created_at)


@dataclass(frozen=True, slots=True)
class NewVersion:
    version_tag: str
    description: str = ""
    model: str | None = None
    prompt_version: int | None = None
    fine_tune_id: str | None = None
    trainer: str = "manual"
    endpoint: str | None = None  # default: the active version's


def register_version(registry: Registry, settings: LlmSettings, new: NewVersion, *, now: datetime) -> AssistantVersion:
    """A candidate version; model and prompt default to the active version's."""
    active, _ = active_assistant(registry, settings, now)
    prompt_version = new.prompt_version or active.prompt_version
    if registry.get_prompt_version(active.prompt_name, prompt_version) is None:
        raise InvalidRequestError(f"Prompt {active.prompt_name!r} has no version {prompt_version}.")
    endpoint = new.endpoint or active.endpoint
    if endpoint not in settings.endpoints:
        known = ", ".join(sorted(settings.endpoints))
        raise InvalidRequestError(f"No endpoint {endpoint!r} is configured (LLM_ENDPOINTS); known: {known}.")
    version = AssistantVersion(
        version_tag=new.version_tag,
        model=new.model or active.model,
        prompt_name=active.prompt_name,
        prompt_version=prompt_version,
        status=VersionStatus.CANDIDATE,
        created_at=now,
        description=new.description,
        fine_tune_id=new.fine_tune_id,
        trainer=new.trainer,
        endpoint=endpoint,
    )
    if registry.get_version(version.version_tag) is not None:
        raise ConflictError(f"Version {version.version_tag!r} already exists; pick another tag.")
    registry.put_version(version)
    return version


def activate_version(registry: Registry, settings: LlmSettings, tag: str, *, now: datetime) -> AssistantVersion:
    """Make `tag` the active version (launch or roll back); the previous one is frozen."""
    previous, _ = active_assistant(registry, settings, now)
    version = registry.get_version(tag)
    if version is None:
        raise NotFoundError(f"No assistant version {tag!r}.")
    if version.status is VersionStatus.RETIRED:
        raise ConflictError(f"Version {tag!r} is retired and cannot serve again.")
    if previous.version_tag == tag:
        return previous
    prompt = registry.get_prompt_version(version.prompt_name, version.prompt_version)
    if prompt is None:
        raise ConflictError(f"Version {tag!r} names a prompt version that does not exist.")
    registry.activate(version, prompt, previous, now)
    activated = registry.get_version(tag)
    assert activated is not None
    return activated


@dataclass(frozen=True, slots=True)
class VersionFigures:
    version: AssistantVersion
    summary: UsefulnessSummary


def compare_versions(
    store: Store, registry: Registry, tags: list[str], *, today: date, days: int
) -> tuple[date, date, list[VersionFigures]]:
    if days > MAX_ANALYTICS_DAYS:
        raise InvalidRequestError(f"A window covers at most {MAX_ANALYTICS_DAYS} days.")
    start, end = today - timedelta(days=days - 1), today
    figures = []
    for tag in tags:
        version = registry.get_version(tag)
        if version is None:
            raise NotFoundError(f"No assistant version {tag!r}.")
        figures.append(VersionFigures(version, summarise(store.daily_stats(tag, start, end), start, end)))
    return start, end, figures


# -- prompts --------------------------------------------------------------------------------------


def list_prompt_versions(registry: Registry, settings: LlmSettings, name: str, now: datetime) -> list[PromptVersion]:
    active_assistant(registry, settings, now)
    versions = registry.list_prompt_versions(name)
    if not versions:
        raise NotFoundError(f"No prompt named {name!r}.")
    return versions


def create_prompt_version(
    registry: Registry,
    settings: LlmSettings,
    name: str,
    *,
    text: str,
    improvement_notes: str,
    exemplars: list[Exemplar],
    now: datetime,
) -> PromptVersion:
    """Prompt versions are append-only: a change is a new version number, never an edit."""
    existing = list_prompt_versions(registry, settings, name, now)
    prompt = PromptVersion(
        name=name,
        version=max(p.version for p in existing) + 1,
        text=text,
        updated_at=now,
        improvement_notes=improvement_notes,
        exemplars=tuple(exemplars),
    )
    registry.put_prompt_version(prompt)
    return prompt


def diff_prompt_versions(
    registry: Registry, name: str, old: int, new: int
) -> tuple[PromptVersion, PromptVersion, str, list[WordChange]]:
    before, after = registry.get_prompt_version(name, old), registry.get_prompt_version(name, new)
    for number, found in ((old, before), (new, after)):
        if found is None:
            raise NotFoundError(f"Prompt {name!r} has no version {number}.")
    assert before is not None and after is not None
    unified, words = diff_prompts(before, after)
    return before, after, unified, words


@dataclass(frozen=True, slots=True)
class ReviewPage:
    items: list[Interaction]
    next_cursor: str | None


def review_queue(store: Store, limit: int, cursor: str | None) -> ReviewPage:
    """Snoozed drafts still waiting for a verdict, oldest first."""
    items, next_cursor = store.review_queue(limit, cursor)
    return ReviewPage(items, next_cursor)
