"""Named model endpoints, base models' announced shutdowns, and providers' refusals of new jobs (all pure).

An endpoint is an OpenAI-compatible API with a name: `openai` (the OpenAI API, or `OPENAI_BASE_URL`),
`bedrock` (Amazon Bedrock's OpenAI-compatible endpoint for open-weight models, `bedrock-mantle`, with a
Bedrock API key as the bearer), or any base URL. Each assistant version names the endpoint its model is
served from, so drafting, judging and fine-tuning can each live on a different provider.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

DEFAULT_ENDPOINT = "openai"
BEDROCK_ENDPOINT = "bedrock"
ENDPOINT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def bedrock_base_url(region: str) -> str:
    """Bedrock's OpenAI-compatible endpoint (files, fine-tuning jobs, chat completions) in `region`."""
    return f"https://bedrock-mantle.{region}.api.aws/v1"


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    base_url: str | None  # None: the SDK's default (api.openai.com)
    key_parameter: str | None = None  # SSM SecureString holding the key (None: OPENAI_API_KEY, or no key)
    explicit_url: bool = False  # the base URL was configured, not derived (a local stand-in keeps it offline)

    @property
    def where(self) -> str:
        return self.base_url or "the OpenAI API"


# -- announced shutdowns ----------------------------------------------------------------------------------


def base_model_of(model: str) -> str:
    """The base model a model name stands on: `ft:<base>:<org>:<suffix>:<id>` -> `<base>`."""
    if model.startswith("ft:"):
        return model.split(":")[1]
    return model


def shutdown_of(model: str, shutdowns: Mapping[str, date]) -> date | None:
    """The announced shutdown of `model`'s base (a fine-tune stops with its base), by the longest family
    in `shutdowns` that names it exactly or as a prefix before `-` (`gpt-4o` covers `gpt-4o-2024-08-06`)."""
    base = base_model_of(model)
    families = [name for name in shutdowns if base == name or base.startswith(f"{name}-")]
    return shutdowns[max(families, key=len)] if families else None


# -- refusals of new jobs ---------------------------------------------------------------------------------

# Error codes providers send when they will not take a new job (OpenAI's error `code`, or words in the message).
DEPRECATION_WORDS = ("deprecat", "no longer", "shut down", "sunset", "retired", "not accepting new")
UNSUPPORTED_CODES = frozenset({"model_not_found", "invalid_model", "model_not_available", "unsupported_model"})
UNSUPPORTED_WORDS = ("not supported", "does not support", "not available for fine-tuning", "cannot be fine-tuned")
QUOTA_CODES = frozenset({"insufficient_quota", "quota_exceeded", "billing_hard_limit_reached"})


@dataclass(frozen=True, slots=True)
class Refusal:
    kind: str  # "deprecated" | "quota" | "unsupported model" | "refused"
    message: str


def classify_refusal(status: int | None, code: str | None, message: str) -> Refusal | None:
    """Whether the provider refused the job for good (a deprecation, a spent quota, a model it does not fine-tune,
    or any other refusal of the request), or None when trying again later may work (throttling, 5xx)."""
    text = message.lower()
    code = (code or "").lower()
    if code in QUOTA_CODES:
        return Refusal("quota", message)
    if status == 429 or status is None or status >= 500:
        return None
    if any(word in text for word in DEPRECATION_WORDS) or "deprecat" in code:
        return Refusal("deprecated", message)
    if code in UNSUPPORTED_CODES or status == 404 or any(word in text for word in UNSUPPORTED_WORDS):
        return Refusal("unsupported model", message)
    return Refusal("refused", message)


REFUSAL_WORDS = {
    "deprecated": "no longer takes new fine-tuning jobs (deprecation)",
    "quota": "has no quota left for this job",
    "unsupported model": "does not fine-tune this model",
    "refused": "refused the job",
}


def refusal_reason(refusal: Refusal, *, endpoint: str, trainers: Iterable[str], endpoints: Iterable[str]) -> str:
    """The run's reason in words: who refused, why, what they said, and what to use next."""
    options = [f"trainer {name}" for name in trainers]
    others = [name for name in endpoints if name != endpoint]
    if others:
        options.append("the " + " or ".join(others) + (" endpoint" if len(others) == 1 else " endpoints"))
    next_step = f" Use {' or '.join(options)} instead." if options else ""
    said = f": {refusal.message}" if refusal.message else "."
    return f"The {endpoint} endpoint {REFUSAL_WORDS[refusal.kind]}{said}{next_step}"
