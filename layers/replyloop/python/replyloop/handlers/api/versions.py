"""Assistant versions and prompt versions (admin)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from replyloop.domain.prompts import Exemplar
from replyloop.handlers.api.responses import api_responses
from replyloop.handlers.api.security import require_admin
from replyloop.models.api import VersionTag
from replyloop.models.assistant import (
    NewPromptVersionRequest,
    PromotionWatchView,
    PromptDiff,
    PromptName,
    PromptVersionList,
    PromptVersionView,
    RegisterVersionRequest,
    VersionComparison,
    VersionList,
    VersionStats,
    VersionView,
    WordChangeView,
)
from replyloop.services import assistant, promotion_watch
from replyloop.settings import PromotionWatchSettings, load
from replyloop.wiring import get_llm_settings, get_registry, get_store

router = APIGatewayHttpRouter()

Tag = Annotated[VersionTag, Path(description="The version's tag, e.g. v2.")]
Name = Annotated[PromptName, Path(description="The prompt's name (the drafting prompt is `reply`).")]


def _now() -> datetime:
    return datetime.now(UTC)


@router.get(
    "/versions",
    middlewares=[require_admin],
    summary="Assistant versions",
    responses=api_responses(200, "Every assistant version and which one is active", 409),
)
def list_versions() -> VersionList:
    versions = assistant.list_versions(get_registry(), get_llm_settings(), _now())
    active = next(v.version_tag for v in versions if v.status.value == "active")
    shutdowns = get_llm_settings().model_shutdowns
    return VersionList(items=[VersionView.of(v, shutdowns) for v in versions], active=active)


@router.post(
    "/versions",
    middlewares=[require_admin],
    summary="Register a candidate version (model and prompt default to the active version's)",
    responses=api_responses(201, "The registered candidate version", 400, 409, body=True),
)
def register_version(body: RegisterVersionRequest) -> tuple[VersionView, int]:
    version = assistant.register_version(
        get_registry(),
        get_llm_settings(),
        assistant.NewVersion(
            version_tag=body.version_tag,
            description=body.description,
            model=body.model,
            prompt_version=body.prompt_version,
            fine_tune_id=body.fine_tune_id,
            endpoint=body.endpoint,
        ),
        now=_now(),
    )
    return VersionView.of(version, get_llm_settings().model_shutdowns), 201


@router.post(
    "/versions/<tag>/activate",
    middlewares=[require_admin],
    summary="Make this version active (launch or roll back); the previous one is frozen",
    responses=api_responses(200, "The version, now active", 404, 409),
)
def activate_version(tag: Tag) -> VersionView:
    settings = get_llm_settings()
    return VersionView.of(
        assistant.activate_version(get_registry(), settings, tag, now=_now()), settings.model_shutdowns
    )


@router.get(
    "/versions/watch",
    middlewares=[require_admin],
    summary="Is the active version doing worse than the one before it? (live usefulness since its activation)",
    responses=api_responses(200, "The comparison and the one-call rollback"),
)
def watch_active_version() -> PromotionWatchView:
    settings = load(PromotionWatchSettings)
    found = promotion_watch.watch_promotion(
        get_registry(),
        get_store(),
        min_verdicts=settings.watch_min_verdicts,
        lookback_days=settings.watch_lookback_days,
        now=_now(),
    )
    return PromotionWatchView.of(found)


@router.get(
    "/versions/compare",
    middlewares=[require_admin],
    summary="Side-by-side figures of two versions, from the day counters",
    responses=api_responses(200, "The two versions' figures over the window", 400, 404),
)
def compare_versions(
    a: Annotated[VersionTag, Query(description="First version tag.")],
    b: Annotated[VersionTag, Query(description="Second version tag.")],
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> VersionComparison:
    start, end, figures = assistant.compare_versions(
        get_store(), get_registry(), [a, b], today=_now().date(), days=days
    )
    return VersionComparison.model_validate(
        {"from_": start, "to": end, "versions": [VersionStats.of(f.version, f.summary) for f in figures]}
    )


@router.get(
    "/prompts/<name>/versions",
    middlewares=[require_admin],
    summary="Every version of a prompt",
    responses=api_responses(200, "Every version of the prompt", 404, 409),
)
def list_prompt_versions(name: Name) -> PromptVersionList:
    prompts = assistant.list_prompt_versions(get_registry(), get_llm_settings(), name, _now())
    return PromptVersionList(name=name, items=[PromptVersionView.of(p) for p in prompts])


@router.post(
    "/prompts/<name>/versions",
    middlewares=[require_admin],
    summary="Add a prompt version (versions are never edited; a change is a new version)",
    responses=api_responses(201, "The new prompt version", 404, 409, body=True),
)
def create_prompt_version(name: Name, body: NewPromptVersionRequest) -> tuple[PromptVersionView, int]:
    prompt = assistant.create_prompt_version(
        get_registry(),
        get_llm_settings(),
        name,
        text=body.text,
        improvement_notes=body.improvement_notes,
        exemplars=[Exemplar(e.message, e.reply) for e in body.exemplars],
        now=_now(),
    )
    return PromptVersionView.of(prompt), 201


@router.get(
    "/prompts/<name>/diff",
    middlewares=[require_admin],
    summary="What changed between two prompt versions (unified diff and word-level delta)",
    responses=api_responses(200, "The diff between the two versions", 404),
)
def diff_prompt_versions(
    name: Name,
    from_version: Annotated[int, Query(alias="from", ge=1, description="The older version number.")],
    to_version: Annotated[int, Query(alias="to", ge=1, description="The newer version number.")],
) -> PromptDiff:
    before, after, unified, words = assistant.diff_prompt_versions(get_registry(), name, from_version, to_version)
    return PromptDiff.model_validate(
        {
            "name": name,
            "from_": PromptVersionView.of(before),
            "to": PromptVersionView.of(after),
            "unified_diff": unified,
            "words": [WordChangeView.of(w) for w in words],
        }
    )
