"""The retrain's choices that configuration names (template parameters, a run's input).

Apart from `domain.retrain` so that reading a function's settings at cold start does not build the
retrain's and stress test's dataclasses.
"""

from __future__ import annotations

from enum import StrEnum


class PromotionPolicy(StrEnum):
    APPROVE = "approve"  # a candidate that passed the gate waits for an admin's approval
    AUTO = "auto"  # the gate alone promotes


class TrainerName(StrEnum):
    PROMPT = "prompt"
    OPENAI = "openai"
