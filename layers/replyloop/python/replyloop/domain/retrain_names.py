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
    GEPA = "gepa"  # reflective prompt evolution, measured on the validation split (domain/gepa.py)
    COMPILE = "compile"  # lessons and exemplars compiled into the prompt, no model calls (`compile_prompt`)
    PROMPT = "compile"  # an alias of COMPILE (same value): code written for the old name keeps working
    OPENAI = "openai"
    BEDROCK_CUSTOMIZATION = "bedrock-customization"  # Bedrock's CreateModelCustomizationJob

    @property
    def data_format(self) -> str | None:
        """The export format this trainer uploads (None: it reads no training file)."""
        return {TrainerName.OPENAI: "openai", TrainerName.BEDROCK_CUSTOMIZATION: "bedrock"}.get(self)

    @classmethod
    def _missing_(cls, value: object) -> TrainerName | None:
        # `prompt` was the compile trainer's name: stored runs and old configuration keep working.
        return cls.COMPILE if value == DEPRECATED_COMPILE_NAME else None


DEPRECATED_COMPILE_NAME = "prompt"


DEFAULT_MAX_METRIC_CALLS = 200  # the gepa trainer's budget (template parameter RetrainMaxMetricCalls)
