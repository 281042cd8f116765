"""Watch the active version after its promotion, and roll back to the previous one when it regressed.

The previous version is the frozen one activated last before the active one. Its usefulness is read
over as many days before the switch as the active version has served (at most `lookback_days`), both
from the per-day, per-version counters (no scan). Run on a schedule by the sweeper function, and on
demand by `GET /api/versions/watch`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from replyloop.domain.errors import ConflictError
from replyloop.domain.versions import AssistantVersion, VersionStatus
from replyloop.domain.watch import Usefulness, WatchVerdict, compare_usefulness
from replyloop.ports import Registry, Store


@dataclass(frozen=True, slots=True)
class PromotionWatch:
    active: AssistantVersion
    previous: AssistantVersion
    verdict: WatchVerdict
    rolled_back: bool = False


def _usefulness(store: Store, version: str, start: datetime, end: datetime) -> Usefulness:
    days = store.daily_stats(version, start.date(), end.date())
    return Usefulness(useful=sum(day.useful for day in days), total=sum(day.total for day in days))


def previous_version(versions: list[AssistantVersion], active: AssistantVersion) -> AssistantVersion | None:
    """The frozen version that served last before `active` was activated."""
    switched = active.activated_at
    if switched is None:
        return None
    earlier = [
        (v.activated_at, v)
        for v in versions
        if v.status is VersionStatus.FROZEN and v.activated_at is not None and v.activated_at < switched
    ]
    return max(earlier, key=lambda pair: pair[0])[1] if earlier else None


def watch_promotion(
    registry: Registry, store: Store, *, min_verdicts: int, lookback_days: int, now: datetime
) -> PromotionWatch | None:
    """The active version's live usefulness against its predecessor's; None when there is nothing to compare."""
    found = registry.active()
    if found is None:
        return None
    active = found[0]
    previous = previous_version(registry.list_versions(), active)
    if previous is None or active.activated_at is None:
        return None
    served = min(max(now - active.activated_at, timedelta(days=1)), timedelta(days=lookback_days))
    new = _usefulness(store, active.version_tag, active.activated_at, now)
    before = _usefulness(store, previous.version_tag, active.activated_at - served, active.activated_at)
    return PromotionWatch(active, previous, compare_usefulness(new, before, min_verdicts=min_verdicts))


def roll_back(registry: Registry, watch: PromotionWatch, now: datetime) -> PromotionWatch:
    """Re-activate the previous version (the regressed one is frozen, as any activation does)."""
    prompt = registry.get_prompt_version(watch.previous.prompt_name, watch.previous.prompt_version)
    if prompt is None:
        raise ConflictError(f"Version {watch.previous.version_tag!r} names a prompt version that does not exist.")
    registry.activate(watch.previous, prompt, watch.active, now)
    return PromotionWatch(watch.active, watch.previous, watch.verdict, rolled_back=True)
