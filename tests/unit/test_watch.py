"""The promotion watch's rules, without AWS: when a fall in usefulness counts, and which version was before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from replyloop.domain.versions import AssistantVersion, VersionStatus
from replyloop.domain.watch import Usefulness, compare_usefulness
from replyloop.services.promotion_watch import previous_version

NOW = datetime(2026, 12, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("new", "before", "status"),
    [
        (Usefulness(10, 49), Usefulness(45, 50), "too_few"),  # 49 < 50 verdicts: no judgement yet
        (Usefulness(30, 60), Usefulness(45, 60), "regressed"),  # 50% vs 75%
        (Usefulness(42, 60), Usefulness(45, 60), "holding"),  # 70% vs 75%: within noise
        (Usefulness(55, 60), Usefulness(45, 60), "holding"),  # better is never a regression
        (Usefulness(60, 60), Usefulness(60, 60), "holding"),  # no spread at all
    ],
)
def test_only_a_significant_fall_is_a_regression(new, before, status):
    verdict = compare_usefulness(new, before, min_verdicts=50)
    assert verdict.status == status
    assert (verdict.z is None) == (status == "too_few")


def version(tag: str, status: VersionStatus, activated_days_ago: int | None) -> AssistantVersion:
    activated = None if activated_days_ago is None else NOW - timedelta(days=activated_days_ago)
    return AssistantVersion(tag, "m", "reply", 1, status, NOW - timedelta(days=30), activated_at=activated)


def test_the_previous_version_is_the_frozen_one_activated_last_before():
    active = version("v4", VersionStatus.ACTIVE, 1)
    versions = [
        version("v1", VersionStatus.FROZEN, 20),
        version("v3", VersionStatus.FROZEN, 5),
        version("v5", VersionStatus.CANDIDATE, None),
        version("v2", VersionStatus.RETIRED, 10),
        active,
    ]
    assert previous_version(versions, active).version_tag == "v3"  # type: ignore[union-attr]
    assert previous_version([active], active) is None
