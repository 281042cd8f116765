"""HTTP models of retrain runs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from replyloop.domain.runs import RetrainRun
from replyloop.models.api import ApiModel, RequestModel


class NewRetrainRun(RequestModel):
    """Overrides for this run only; anything left out uses the stack's configuration."""

    trainer: Literal["gepa", "compile", "prompt", "openai", "bedrock-customization"] | None = Field(
        default=None,
        description="How to train the candidate (docs/retrain.md, Trainers): gepa (prompt evolution, LLM calls), "
        "compile (no LLM calls), openai or bedrock-customization (fine-tuning); prompt is the deprecated name of "
        "compile.",
    )
    max_metric_calls: int | None = Field(
        default=None, ge=1, le=100_000, description="For the gepa trainer: drafts it may score (its budget)."
    )
    fine_tune_method: Literal["sft", "dpo", "reinforcement"] | None = Field(
        default=None,
        description="For the openai trainer: supervised (sft), preference (dpo) or reinforcement fine-tuning "
        "with the judge as grader.",
    )
    endpoint: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9-]{0,31}$",
        description="For the openai trainer: the named endpoint to fine-tune on (default RETRAIN_ENDPOINT).",
    )
    lookback_days: int | None = Field(default=None, ge=1, le=366, description="Failed replies of the last N days.")
    min_not_useful: int | None = Field(
        default=None, ge=0, description="Export topics with more than this many not-useful verdicts."
    )
    margin: float | None = Field(default=None, ge=0, le=10, description="Mean judge score the candidate must gain.")
    eval_cases: int | None = Field(default=None, ge=1, le=200, description="Failed queries to evaluate on.")
    poll_seconds: int | None = Field(default=None, ge=1, le=3600, description="Seconds between training polls.")
    max_polls: int | None = Field(default=None, ge=1, le=10_000, description="Polls before training times out.")
    min_eval_cases: int | None = Field(
        default=None, ge=1, le=200, description="Held-out cases the gate needs, else insufficient_evidence."
    )
    promotion: Literal["approve", "auto"] | None = Field(
        default=None, description="approve: a person approves a candidate that passed the gate; auto: the gate alone."
    )
    approval_timeout_seconds: int | None = Field(
        default=None, ge=1, le=21 * 86400, description="How long a candidate waits for approval before it expires."
    )
    training_policy: Literal["reviewed", "judged"] | None = Field(
        default=None, description="reviewed: judge agreement and a reviewer; judged: judge agreement alone."
    )
    version: str | None = Field(
        default=None, min_length=1, max_length=64, description="Export only this assistant version's verdicts."
    )
    data_format: Literal["openai", "bedrock"] | None = Field(
        default=None,
        alias="format",
        description="The export's lines: openai (chat JSONL and DPO pairs) or bedrock (bedrock-conversation-2024); "
        "default: the one the trainer uploads, else openai.",
    )


class RetrainManifest(ApiModel):
    """The export's manifest.json as written (camelCase already): every verdict accounted for."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    run_id: str = Field(alias="runId")
    created_at: str = Field(alias="createdAt")
    window: dict[str, str]
    selection: dict[str, Any] = Field(description="The rule, not-useful verdicts per topic, the selected topics.")
    accounting: dict[str, int] = Field(description="verdicts = exported + heldOut + excluded.")
    counts: dict[str, int]
    excluded: dict[str, int] = Field(description="Verdicts left out, by reason.")
    held_out: dict[str, Any] = Field(alias="heldOut", description="The evaluation's share and cases.")
    redacted: dict[str, int]
    provenance: dict[str, list[str]] = Field(description="Each file's interaction ids, in line order.")


class ApprovalDecision(RequestModel):
    note: str | None = Field(default=None, max_length=2000, description="Why (kept with the run).")


class EvaluationView(ApiModel):
    """The gate's evidence: held-out cases only, both means, the paired gain and its 95% bootstrap interval."""

    case_ids: list[str]
    cases: int
    candidate_mean: float | None
    incumbent_mean: float | None
    gain: float | None
    ci95: list[float] | None = Field(description="95% paired bootstrap interval of the mean gain, [low, high].")
    wins: int
    losses: int
    ties: int
    loss_share: float
    worst_regressions: list[str] = Field(description="Interaction ids of the cases the candidate lost worst.")


class RetrainRunCreated(ApiModel):
    run_id: str
    status: Literal["running"] = "running"
    status_url: str


class RetrainRunView(ApiModel):
    run_id: str
    status: Literal[
        "running",
        "awaiting_approval",
        "promoted",
        "not_promoted",
        "insufficient_evidence",
        "expired",
        "skipped",
        "failed",
    ]
    trigger: str | None
    trainer: str | None
    requested_by: str | None
    execution_arn: str | None
    created_at: str
    finished_at: str | None
    reason: str | None
    candidate_version: str | None
    steps: dict[str, dict[str, Any]] = Field(description="Each step's outcome, time and details, in order.")
    evaluation_url: str | None = Field(description="The evaluation's stress-test log, once it started.")
    evaluation: EvaluationView | None = Field(
        default=None, description="The gate's evidence, once the evaluation finished."
    )

    @classmethod
    def of(cls, run: RetrainRun) -> RetrainRunView:
        return cls(
            run_id=run.run_id,
            status=run.status.value,
            trigger=run.trigger,
            trainer=run.trainer,
            requested_by=run.requested_by,
            execution_arn=run.execution_arn,
            created_at=run.created_at,
            finished_at=run.finished_at,
            reason=run.reason,
            candidate_version=run.candidate_version,
            steps={step.name: {"outcome": step.outcome, "at": step.at, **step.details} for step in run.steps},
            evaluation_url=f"/api/stress-tests/{run.run_id}" if run.step("evaluate") else None,
            evaluation=_evaluation(run),
        )


def _evaluation(run: RetrainRun) -> EvaluationView | None:
    step = run.step("evaluate")
    if step is None or step.outcome != "done" or "caseIds" not in step.details:
        return None
    return EvaluationView.model_validate(step.details)


class RetrainRunList(ApiModel):
    items: list[RetrainRunView]
