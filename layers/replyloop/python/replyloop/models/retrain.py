"""HTTP models of retrain runs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from replyloop.domain.runs import RetrainRun
from replyloop.models.api import ApiModel, RequestModel


class NewRetrainRun(RequestModel):
    """Overrides for this run only; anything left out uses the stack's configuration."""

    trainer: Literal["prompt", "openai"] | None = Field(default=None, description="How to train the candidate.")
    fine_tune_method: Literal["sft", "dpo"] | None = Field(
        default=None, description="For the openai trainer: supervised (sft) or preference (dpo) fine-tuning."
    )
    lookback_days: int | None = Field(default=None, ge=1, le=366, description="Failed replies of the last N days.")
    min_not_useful: int | None = Field(
        default=None, ge=0, description="Export versions with more than this many not-useful verdicts."
    )
    margin: float | None = Field(default=None, ge=0, le=10, description="Mean judge score the candidate must gain.")
    eval_cases: int | None = Field(default=None, ge=1, le=200, description="Failed queries to evaluate on.")
    poll_seconds: int | None = Field(default=None, ge=1, le=3600, description="Seconds between training polls.")
    max_polls: int | None = Field(default=None, ge=1, le=10_000, description="Polls before training times out.")


class RetrainRunCreated(ApiModel):
    run_id: str
    status: Literal["running"] = "running"
    status_url: str


class RetrainRunView(ApiModel):
    run_id: str
    status: Literal["running", "promoted", "not_promoted", "skipped", "failed"]
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
        )


class RetrainRunList(ApiModel):
    items: list[RetrainRunView]
