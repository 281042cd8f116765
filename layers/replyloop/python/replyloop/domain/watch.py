"""After a promotion: is the new version's live usefulness significantly below the previous one's?

A one-sided two-proportion z-test on "useful" verdicts: the new version's since it was activated
against the previous version's over the same length of time before. Until the new version has
`min_verdicts` verdicts it is `too_few` (no judgement yet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Z_95_ONE_SIDED = 1.645

WatchStatus = Literal["too_few", "holding", "regressed"]


@dataclass(frozen=True, slots=True)
class Usefulness:
    useful: int
    total: int

    @property
    def rate(self) -> float | None:
        return self.useful / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class WatchVerdict:
    status: WatchStatus
    new: Usefulness
    previous: Usefulness
    z: float | None
    reason: str


def compare_usefulness(
    new: Usefulness, previous: Usefulness, *, min_verdicts: int, z_critical: float = Z_95_ONE_SIDED
) -> WatchVerdict:
    """`regressed` when the new version's useful rate is below the previous one's at 95% (one-sided)."""
    if new.total < min_verdicts or previous.total < min_verdicts:
        return WatchVerdict(
            "too_few",
            new,
            previous,
            None,
            f"Not enough verdicts yet to judge ({new.total} new, {previous.total} before; {min_verdicts} each needed).",
        )
    pooled = (new.useful + previous.useful) / (new.total + previous.total)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / new.total + 1 / previous.total))
    new_rate, old_rate = new.useful / new.total, previous.useful / previous.total
    z = (new_rate - old_rate) / spread if spread else 0.0
    figures = f"useful {new_rate:.0%} of {new.total} vs {old_rate:.0%} of {previous.total} before (z = {z:.2f})"
    if z < -z_critical:
        return WatchVerdict("regressed", new, previous, round(z, 3), f"Usefulness fell significantly: {figures}.")
    return WatchVerdict("holding", new, previous, round(z, 3), f"No significant fall: {figures}.")
