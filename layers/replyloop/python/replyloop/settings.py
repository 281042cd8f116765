"""Configuration: one validated model per function, read from the environment once per process.

Each function's model (`ApiSettings`, `WorkerSettings`, `SweeperSettings`, `RetrainFunctionSettings`)
is the sections it needs; its entry point loads it at cold start, so a missing or malformed variable
fails the container's start with the variable's name (`SettingsError`) instead of a request later.
The factories in `wiring` ask for a section (`load(TableSettings)`) and get the function's model
when it has been loaded: the environment is validated once. An empty variable counts as unset.
"""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from replyloop.caches import register
from replyloop.domain.endpoints import (
    BEDROCK_ENDPOINT,
    DEFAULT_ENDPOINT,
    ENDPOINT_NAME,
    Endpoint,
    bedrock_base_url,
)
from replyloop.domain.retrain_names import DEFAULT_MAX_METRIC_CALLS, PromotionPolicy, TrainerName

DEFAULT_PRICES = {  # USD per million tokens: [input, output]
    "gpt-4o-mini": [0.15, 0.60],
    "gpt-4.1-mini": [0.40, 1.60],
    "gpt-4o": [2.50, 10.00],
    "replyloop-offline": [0.0, 0.0],
}


# Base models' announced shutdowns (a fine-tune stops with its base): OpenAI's models API reports none, so
# they are a table here, overridable with LLM_MODEL_SHUTDOWNS. Source: OpenAI's deprecations page as issue 15
# quotes it (notice of 2026-05-07: gpt-4o and gpt-4.1 snapshots and their fine-tunes retire on 2027-01-14).
DEFAULT_MODEL_SHUTDOWNS = {"gpt-4o": "2027-01-14", "gpt-4.1": "2027-01-14"}


class SettingsError(Exception):
    """The environment lacks a setting this function needs, or one is malformed."""


class EnvModel(BaseModel):
    # Built on first validation, not at import: a function validates only its own model (and the sections
    # its factories ask for), so the other functions' models cost its cold start nothing.
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore", defer_build=True)


# -- sections -----------------------------------------------------------------------------------------


class TableSettings(EnvModel):
    table_name: str = Field(alias="TABLE_NAME", min_length=1)
    # Days an interaction and everything stored about it are kept (DynamoDB's TTL deletes them); 0 keeps them.
    retention_days: int = Field(alias="RETENTION_DAYS", default=0, ge=0)


class QueueSettings(EnvModel):
    explain_queue_url: str = Field(alias="EXPLAIN_QUEUE_URL", min_length=1)
    correct_queue_url: str = Field(alias="CORRECT_QUEUE_URL", min_length=1)


class HttpSettings(EnvModel):
    max_body_bytes: int = Field(alias="MAX_BODY_BYTES", default=65_536, gt=0)
    # Estimated model calls one user may cause per clock hour (domain/quota.py); 0 turns the quota off.
    llm_calls_per_user_hour: int = Field(alias="LLM_CALLS_PER_USER_HOUR", default=1000, ge=0)


class IdempotencySettings(EnvModel):
    idempotency_table: str | None = Field(alias="IDEMPOTENCY_TABLE", default=None)


class DeadLetterSettings(EnvModel):
    """Each worker's own dead-letter queue, where it sends a job that can never succeed (with the reason);
    unset, such a job is retried until the queue's maxReceiveCount moves it there."""

    explain_dlq_url: str | None = Field(alias="EXPLAIN_DLQ_URL", default=None)
    correct_dlq_url: str | None = Field(alias="CORRECT_DLQ_URL", default=None)
    # A record is only started with this much of the invocation left; later ones are handed back to SQS.
    min_job_seconds: float = Field(alias="JOB_MIN_SECONDS", default=5.0, ge=0)


class ExecutionSettings(EnvModel):
    retrain_state_machine_arn: str = Field(alias="RETRAIN_STATE_MACHINE_ARN", min_length=1)


class PromotionWatchSettings(EnvModel):
    """After a promotion: when the active version counts as regressed, and whether to roll back by itself."""

    watch_min_verdicts: int = Field(default=50, ge=1, alias="PROMOTION_WATCH_MIN_VERDICTS")
    watch_lookback_days: int = Field(default=14, ge=1, le=90, alias="PROMOTION_WATCH_LOOKBACK_DAYS")
    auto_rollback: bool = Field(default=False, alias="AUTO_ROLLBACK")


class TrainingBucketSettings(EnvModel):
    training_bucket: str = Field(alias="TRAINING_BUCKET", min_length=1)


class LlmSettings(EnvModel):
    provider: Literal["openai", "offline"] = Field(default="openai", alias="LLM_PROVIDER")
    api_key: str | None = Field(default=None, alias="OPENAI_API_KEY")
    api_key_parameter: str | None = Field(default=None, alias="OPENAI_API_KEY_PARAMETER")
    base_url: str | None = Field(default=None, alias="OPENAI_BASE_URL")
    draft_model: str = Field(default="gpt-4o-mini", alias="DRAFT_MODEL")
    draft_temperature: float = Field(default=0.3, ge=0, le=2, alias="DRAFT_TEMPERATURE")
    confidence_threshold: float = Field(default=0.3, ge=0, le=1, alias="CONFIDENCE_THRESHOLD")
    agreement_samples: int = Field(default=3, ge=2, le=5, alias="AGREEMENT_SAMPLES")
    max_reply_tokens: int = Field(default=600, ge=16, alias="MAX_REPLY_TOKENS")
    timeout_seconds: float = Field(default=20.0, gt=0, alias="LLM_TIMEOUT_SECONDS")
    max_retries: int = Field(default=3, ge=0, le=10, alias="LLM_MAX_RETRIES")
    # Within an invocation, calls are fitted to its remaining time less this margin (the work after them),
    # and an attempt shorter than LLM_MIN_ATTEMPT_SECONDS is not started (adapters/llm.py, domain/deadline.py).
    deadline_margin_seconds: float = Field(default=2.0, ge=0, alias="LLM_DEADLINE_MARGIN_SECONDS")
    min_attempt_seconds: float = Field(default=3.0, gt=0, alias="LLM_MIN_ATTEMPT_SECONDS")
    prices_json: str | None = Field(default=None, alias="LLM_PRICES")
    # Named OpenAI-compatible endpoints besides `openai` (the settings above), as JSON:
    # {"bedrock": {"keyParameter": "/replyloop/bedrock-key"}, "lab": {"baseUrl": "https://..", "keyParameter": ..}}
    # `bedrock` without a baseUrl is Bedrock's OpenAI-compatible endpoint in `region` (default AWS_REGION).
    endpoints_json: str | None = Field(default=None, alias="LLM_ENDPOINTS")
    model_shutdowns_json: str | None = Field(default=None, alias="LLM_MODEL_SHUTDOWNS")  # {"family": "YYYY-MM-DD"}
    aws_region: str = Field(default="us-east-1", alias="AWS_REGION")

    @model_validator(mode="after")
    def _endpoints_parse(self) -> Self:
        """A malformed LLM_ENDPOINTS or LLM_MODEL_SHUTDOWNS stops the function at cold start, by name."""
        _ = self.endpoints, self.model_shutdowns
        return self

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        """Every configured endpoint by name; `openai` is always one."""
        found = {
            DEFAULT_ENDPOINT: Endpoint(DEFAULT_ENDPOINT, self.base_url, self.api_key_parameter, bool(self.base_url))
        }
        try:
            named: dict[str, Any] = json.loads(self.endpoints_json) if self.endpoints_json else {}
        except ValueError as error:
            raise ValueError(f"LLM_ENDPOINTS is not JSON: {error}") from error
        if not isinstance(named, dict):
            raise ValueError("LLM_ENDPOINTS must be a JSON object of name -> {baseUrl, keyParameter, region}")
        for name, spec in named.items():
            if not ENDPOINT_NAME.match(name) or name == DEFAULT_ENDPOINT or not isinstance(spec, dict):
                raise ValueError(f"LLM_ENDPOINTS: {name!r} is not a new endpoint name with an object of settings")
            url = spec.get("baseUrl")
            if not url and name == BEDROCK_ENDPOINT:
                derived = bedrock_base_url(str(spec.get("region") or self.aws_region))
            elif url:
                derived = str(url)
            else:
                raise ValueError(f"LLM_ENDPOINTS: {name!r} needs a baseUrl")
            found[name] = Endpoint(name, derived, spec.get("keyParameter") or None, bool(url))
        return found

    @property
    def model_shutdowns(self) -> dict[str, date]:
        table = {
            **DEFAULT_MODEL_SHUTDOWNS,
            **(json.loads(self.model_shutdowns_json) if self.model_shutdowns_json else {}),
        }
        return {str(family): date.fromisoformat(str(day)) for family, day in table.items()}

    @property
    def prices(self) -> dict[str, list[float]]:
        return {**DEFAULT_PRICES, **(json.loads(self.prices_json) if self.prices_json else {})}

    def cost_usd(self, model: str, prompt_tokens: int, completion_tokens: int) -> float:
        """Estimated cost; a fine-tuned model `ft:<base>:...` is priced as its base."""
        base = model.split(":")[1] if model.startswith("ft:") else model
        price = self.prices.get(base) or self.prices.get(base.rsplit("-", 1)[0]) or [0.0, 0.0]
        return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000


class RetrainSettings(EnvModel):
    """Retrain defaults (template parameters); a run's input may override some (`services.retrain.RunOptions`)."""

    trainer: TrainerName = Field(default=TrainerName.GEPA, alias="RETRAIN_TRAINER")
    max_metric_calls: int = Field(default=DEFAULT_MAX_METRIC_CALLS, ge=1, le=100_000, alias="RETRAIN_MAX_METRIC_CALLS")
    fine_tune_method: Literal["sft", "dpo", "reinforcement"] = Field(default="sft", alias="RETRAIN_FINE_TUNE_METHOD")
    base_model: str | None = Field(default=None, alias="RETRAIN_BASE_MODEL")
    fine_tune_endpoint: str = Field(default="openai", alias="RETRAIN_ENDPOINT")  # where the openai trainer fine-tunes
    # The bedrock-customization trainer: the role Bedrock assumes to read the training bucket and write its output.
    bedrock_role_arn: str | None = Field(default=None, alias="BEDROCK_CUSTOMIZATION_ROLE_ARN")
    lookback_days: int = Field(default=30, ge=1, le=366, alias="RETRAIN_LOOKBACK_DAYS")
    min_not_useful: int = Field(default=5, ge=0, alias="RETRAIN_MIN_NOT_USEFUL")
    validation_share: float = Field(default=0.2, ge=0, lt=1, alias="RETRAIN_VALIDATION_SHARE")
    holdout_share: float = Field(default=0.25, gt=0, lt=1, alias="RETRAIN_HOLDOUT_SHARE")
    eval_cases: int = Field(default=100, ge=1, le=200, alias="RETRAIN_EVAL_CASES")
    min_eval_cases: int = Field(default=30, ge=1, le=200, alias="RETRAIN_MIN_EVAL_CASES")
    promotion: PromotionPolicy = Field(default=PromotionPolicy.APPROVE, alias="PROMOTION_POLICY")
    training_policy: Literal["reviewed", "judged"] = Field(default="reviewed", alias="TRAINING_POLICY")
    approval_timeout_seconds: int = Field(default=7 * 86400, ge=1, le=21 * 86400, alias="APPROVAL_TIMEOUT_SECONDS")
    margin: float = Field(default=0.5, ge=0, alias="RETRAIN_PROMOTION_MARGIN")
    max_loss_share: float = Field(default=0.3, ge=0, le=1, alias="RETRAIN_MAX_LOSS_SHARE")
    poll_seconds: int = Field(default=300, ge=1, le=3600, alias="RETRAIN_POLL_SECONDS")
    max_polls: int = Field(default=288, ge=1, alias="RETRAIN_MAX_POLLS")  # a day at the default interval


class DraftingSettings(LlmSettings):
    """The model section of a function that calls the model: with `LLM_PROVIDER=openai` it must name a
    way to reach it, so a deployment that names none stops at cold start instead of failing each call.
    (Whether an SSM key parameter resolves is checked on the first model call, `adapters/llm.py`: a
    cold start reads no secret, and none is kept in a SnapStart snapshot.)"""

    @model_validator(mode="after")
    def _names_a_model(self) -> Self:
        if self.provider == "openai" and not (self.api_key or self.api_key_parameter or self.base_url):
            raise ValueError(
                "LLM_PROVIDER=openai needs OPENAI_API_KEY, OPENAI_API_KEY_PARAMETER (an SSM SecureString) or "
                "OPENAI_BASE_URL; LLM_PROVIDER=offline drafts with the built-in offline model"
            )
        return self


# -- one model per function ---------------------------------------------------------------------------


class ApiSettings(
    TableSettings,
    HttpSettings,
    QueueSettings,
    ExecutionSettings,
    TrainingBucketSettings,
    DraftingSettings,
    RetrainSettings,
    PromotionWatchSettings,
):
    """The api function: the table, both queues, the retrain state machine, the training bucket (read), the model."""


class WorkerSettings(TableSettings, QueueSettings, IdempotencySettings, DeadLetterSettings, DraftingSettings):
    """The explain and correct workers."""


class SweeperSettings(TableSettings, QueueSettings, TrainingBucketSettings, PromotionWatchSettings):
    """The sweeper: the outbox, pending erasures (export objects too), the watch after a promotion."""


class RetrainFunctionSettings(TableSettings, TrainingBucketSettings, DraftingSettings, RetrainSettings):
    """The retrain state machine's tasks."""


Model = TypeVar("Model", bound=EnvModel)


class _Loaded(dict[type[EnvModel], EnvModel]):
    def cache_clear(self) -> None:
        self.clear()


_LOADED = _Loaded()
register(_LOADED)


def load(model: type[Model]) -> Model:
    """`model` validated from the environment, once; a loaded function model answers for its sections."""
    for loaded in _LOADED.values():
        if isinstance(loaded, model):
            return loaded
    environment = {name: value for name, value in os.environ.items() if value != ""}
    try:
        value = model.model_validate(environment)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}" for problem in error.errors()
        )
        raise SettingsError(f"{model.__name__}: {problems}") from error
    _LOADED[model] = value
    return value
