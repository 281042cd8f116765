"""Retrain runs and stress-test runs as values: what a run was started with, where it is, what it found.

The run logs (adapters) store them; the HTTP models map them to camelCase, like every other entity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from replyloop.domain.deadline import Deadline
from replyloop.domain.errors import ReplyloopError
from replyloop.domain.prompts import PromptVersion
from replyloop.domain.retrain import PromptMaterial, RunStatus
from replyloop.domain.retrain_names import DEFAULT_MAX_METRIC_CALLS, PromotionPolicy, TrainerName
from replyloop.domain.stress import StressSummary
from replyloop.domain.stress_batch import BatchState, Stage
from replyloop.domain.versions import AssistantVersion

FineTuneMethod = Literal["sft", "dpo", "reinforcement"]
DataFormat = Literal["openai", "bedrock"]  # the export's lines: OpenAI chat JSONL, or bedrock-conversation-2024
StressStatus = Literal["running", "finished", "failed"]
StressMode = Literal["live", "batch"]
TrainingStatus = Literal["running", "succeeded", "failed", "cancelled"]
TrainingPolicyName = Literal["reviewed", "judged"]


# -- retrain runs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetrainConfig:
    """A run's options with every default filled in, once, when the run begins."""

    trainer: TrainerName
    fine_tune_method: FineTuneMethod
    lookback_days: int
    min_not_useful: int
    margin: float
    eval_cases: int
    poll_seconds: int
    max_polls: int
    min_eval_cases: int = 30
    promotion: PromotionPolicy = PromotionPolicy.APPROVE
    approval_timeout_seconds: int = 7 * 86400
    training_policy: TrainingPolicyName = "reviewed"
    version: str | None = None  # export only this assistant version's verdicts
    data_format: DataFormat = "openai"  # the export's lines (`format` in a run's options)
    endpoint: str = "openai"  # where a fine-tuning trainer trains (and the candidate is served)
    max_metric_calls: int = DEFAULT_MAX_METRIC_CALLS  # the gepa trainer's budget of scored drafts

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.data_format,
            "endpoint": self.endpoint,
            "maxMetricCalls": self.max_metric_calls,
            "minEvalCases": self.min_eval_cases,
            "promotion": self.promotion.value,
            "approvalTimeoutSeconds": self.approval_timeout_seconds,
            "trainingPolicy": self.training_policy,
            "version": self.version,
            "trainer": self.trainer.value,
            "fineTuneMethod": self.fine_tune_method,
            "lookbackDays": self.lookback_days,
            "minNotUseful": self.min_not_useful,
            "margin": self.margin,
            "evalCases": self.eval_cases,
            "pollSeconds": self.poll_seconds,
            "maxPolls": self.max_polls,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RetrainConfig:
        return cls(
            trainer=TrainerName(str(data["trainer"])),
            fine_tune_method=_method(data["fineTuneMethod"]),
            lookback_days=int(data["lookbackDays"]),
            min_not_useful=int(data["minNotUseful"]),
            margin=float(data["margin"]),
            eval_cases=int(data["evalCases"]),
            poll_seconds=int(data["pollSeconds"]),
            max_polls=int(data["maxPolls"]),
            min_eval_cases=int(data.get("minEvalCases", 30)),
            promotion=PromotionPolicy(str(data.get("promotion", "approve"))),
            approval_timeout_seconds=int(data.get("approvalTimeoutSeconds", 7 * 86400)),
            training_policy="judged" if data.get("trainingPolicy") == "judged" else "reviewed",
            version=data.get("version"),
            data_format="bedrock" if data.get("format") == "bedrock" else "openai",
            endpoint=str(data.get("endpoint") or "openai"),
            max_metric_calls=int(data.get("maxMetricCalls", DEFAULT_MAX_METRIC_CALLS)),
        )


def _method(value: Any) -> FineTuneMethod:
    return "dpo" if value == "dpo" else "reinforcement" if value == "reinforcement" else "sft"


@dataclass(frozen=True, slots=True)
class RunStep:
    """One step's latest outcome: when, and what it reported (JSON values, camelCase keys)."""

    name: str
    outcome: str
    at: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RetrainRun:
    run_id: str
    status: RunStatus
    created_at: str
    trigger: str | None = None
    trainer: str | None = None
    requested_by: str | None = None
    execution_arn: str | None = None
    finished_at: str | None = None
    reason: str | None = None
    candidate_version: str | None = None
    steps: tuple[RunStep, ...] = ()  # in the order they ran

    def step(self, name: str) -> RunStep | None:
        return next((step for step in self.steps if step.name == name), None)


class TrainerError(ReplyloopError):
    """The trainer cannot train on this run's data (not transient; the run fails with the reason)."""


@dataclass(frozen=True, slots=True)
class TrainingContext:
    run_id: str
    active: AssistantVersion
    active_prompt: PromptVersion
    material: PromptMaterial
    files: dict[str, str]  # file name -> location (s3://bucket/key)
    now: datetime
    max_metric_calls: int = DEFAULT_MAX_METRIC_CALLS  # the gepa trainer's budget
    deadline: Deadline | None = None  # this invocation's time, for trainers that work within it (gepa)


@dataclass(frozen=True, slots=True)
class TrainingState:
    status: TrainingStatus
    model: str
    prompt_version: int
    fine_tune_id: str | None = None
    detail: str = ""
    endpoint: str | None = None  # where the trained model is served (None: the active version's endpoint)
    # Running, and the trainer works itself (gepa): invoke it again at once instead of waiting to poll.
    again: bool = False
    progress: Mapping[str, Any] | None = None  # the trainer's own figures (gepa: metric calls, candidates)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "endpoint": self.endpoint,
            "status": self.status,
            "model": self.model,
            "promptVersion": self.prompt_version,
            "fineTuneId": self.fine_tune_id,
            "detail": self.detail,
            "again": self.again,
        }
        if self.progress is not None:
            data["progress"] = dict(self.progress)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainingState:
        return cls(
            status=data["status"],
            model=data["model"],
            prompt_version=int(data["promptVersion"]),
            fine_tune_id=data.get("fineTuneId"),
            detail=data.get("detail", ""),
            endpoint=data.get("endpoint"),
            again=bool(data.get("again", False)),
            progress=data.get("progress"),
        )


# -- stress-test runs -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A finished stress test's figures as its run keeps them (regressions by case id)."""

    cases: int
    baseline_mean: float | None
    candidate_mean: float | None
    baseline_distribution: Mapping[int, int]
    candidate_distribution: Mapping[int, int]
    wins: int
    losses: int
    ties: int
    loss_share: float
    tokens: int
    cost_usd: float
    worst_regressions: tuple[str, ...] = ()
    duration_seconds: float | None = None

    @classmethod
    def of(cls, summary: StressSummary, duration_seconds: float | None) -> RunSummary:
        return cls(
            cases=summary.cases,
            baseline_mean=summary.baseline_mean,
            candidate_mean=summary.candidate_mean,
            baseline_distribution=dict(summary.baseline_distribution),
            candidate_distribution=dict(summary.candidate_distribution),
            wins=summary.wins,
            losses=summary.losses,
            ties=summary.ties,
            loss_share=summary.loss_share,
            tokens=summary.tokens,
            cost_usd=summary.cost_usd,
            worst_regressions=tuple(result.case_id for result in summary.worst_regressions),
            duration_seconds=duration_seconds,
        )


@dataclass(frozen=True, slots=True)
class CaseError:
    """Why one query of a batch run was left out."""

    case_id: str
    message: str


@dataclass(frozen=True, slots=True)
class NewStressRun:
    run_id: str
    baseline: str
    candidate: str
    source: str
    planned: int
    mode: StressMode = "live"


@dataclass(frozen=True, slots=True)
class StressRun:
    run_id: str
    baseline: str
    candidate: str
    source: str
    planned: int
    status: StressStatus
    mode: StressMode
    created_at: str
    finished_at: str | None = None
    summary: RunSummary | None = None
    # batch runs only
    stage: Stage | None = None
    queries: int | None = None
    drafts_batch_id: str | None = None
    judge_batch_id: str | None = None
    reason: str | None = None
    failed_cases: int = 0
    batch_errors: tuple[CaseError, ...] = ()

    @property
    def is_batch(self) -> bool:
        return self.mode == "batch"


@dataclass(frozen=True, slots=True)
class StageChange:
    """What one move of a batch run sets besides its stage (None: left as it is)."""

    status: StressStatus | None = None
    reason: str | None = None
    finished_at: str | None = None
    queries: int | None = None
    drafts_batch_id: str | None = None
    judge_batch_id: str | None = None
    summary: RunSummary | None = None
    failed_cases: int | None = None
    batch_errors: tuple[CaseError, ...] | None = None


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """A batch run after one poll: the run as stored, the batch the poll looked at, the summary once finished."""

    run: StressRun
    batch: BatchState | None = None
    summary: StressSummary | None = None
