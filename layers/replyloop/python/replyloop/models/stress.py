"""HTTP models of stress tests."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from replyloop.domain.runs import BatchProgress, RunSummary, StressRun
from replyloop.domain.stress import CaseResult, StressSummary
from replyloop.models.api import INTERACTION_ID_PATTERN, ApiModel, OptionalText, RequestModel, Text, VersionTag


class NewStressTest(RequestModel):
    baseline: VersionTag | None = Field(default=None, description="Defaults to the active version.")
    candidate: VersionTag
    source: Annotated[str, StringConstraints(max_length=200)] = "manual"
    planned: int = Field(default=0, ge=0, le=1_000_000, description="How many queries the client will send.")
    mode: Literal["live", "batch"] = Field(
        default="live",
        description="`live`: send each query to /cases. `batch`: add queries to /queries, then poll /batch/poll "
        "(the OpenAI Batch API: half price, results within 24 hours).",
    )


class StressTestCreated(ApiModel):
    run_id: str
    baseline: str
    candidate: str
    mode: str = "live"


class StressCase(RequestModel):
    case_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = Field(
        default=None, description="The client's id for this query; sending it again overwrites, never duplicates."
    )
    message: Text
    reference_reply: OptionalText | None = Field(default=None, description="The agent's reply, judged as correct.")
    interaction_id: Annotated[str, StringConstraints(pattern=INTERACTION_ID_PATTERN)] | None = None


class CaseView(ApiModel):
    case_id: str
    interaction_id: str | None
    message: str
    baseline_reply: str
    candidate_reply: str
    baseline_score: float
    candidate_score: float
    eval_score: float
    improved: bool
    outcome: str
    comments: str
    tokens: int
    cost_usd: float

    @classmethod
    def of(cls, result: CaseResult) -> CaseView:
        return cls(
            case_id=result.case_id,
            interaction_id=result.interaction_id,
            message=result.message,
            baseline_reply=result.baseline_reply,
            candidate_reply=result.candidate_reply,
            baseline_score=result.baseline_score,
            candidate_score=result.candidate_score,
            eval_score=result.eval_score,
            improved=result.improved,
            outcome=result.outcome,
            comments=result.comments,
            tokens=result.tokens,
            cost_usd=result.cost_usd,
        )


class FinishStressTest(RequestModel):
    duration_seconds: float = Field(
        ge=0, le=30 * 86400, allow_inf_nan=False, description="Wall time the client spent, for throughput."
    )


class SummaryView(ApiModel):
    cases: int
    baseline_mean: float | None
    candidate_mean: float | None
    baseline_distribution: dict[int, int]
    candidate_distribution: dict[int, int]
    wins: int
    losses: int
    ties: int
    loss_share: float
    tokens: int
    cost_usd: float
    duration_seconds: float | None = None
    throughput_per_second: float | None = None
    worst_regressions: list[CaseView]

    @classmethod
    def of(cls, summary: StressSummary, duration: float | None) -> SummaryView:
        return cls(
            cases=summary.cases,
            baseline_mean=summary.baseline_mean,
            candidate_mean=summary.candidate_mean,
            baseline_distribution=summary.baseline_distribution,
            candidate_distribution=summary.candidate_distribution,
            wins=summary.wins,
            losses=summary.losses,
            ties=summary.ties,
            loss_share=round(summary.loss_share, 4),
            tokens=summary.tokens,
            cost_usd=summary.cost_usd,
            duration_seconds=duration,
            throughput_per_second=round(summary.cases / duration, 3) if duration else None,
            worst_regressions=[CaseView.of(r) for r in summary.worst_regressions],
        )


class RunSummaryView(ApiModel):
    """A finished run's figures as the run keeps them (regressions by case id)."""

    cases: int
    baseline_mean: float | None
    candidate_mean: float | None
    baseline_distribution: dict[int, int]
    candidate_distribution: dict[int, int]
    wins: int
    losses: int
    ties: int
    loss_share: float
    tokens: int
    cost_usd: float
    worst_regressions: list[str] = Field(description="Case ids of the worst regressions.")
    duration_seconds: float | None

    @classmethod
    def of(cls, summary: RunSummary) -> RunSummaryView:
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
            worst_regressions=list(summary.worst_regressions),
            duration_seconds=summary.duration_seconds,
        )


class CaseError(ApiModel):
    case_id: str
    message: str


class StressRunView(ApiModel):
    run_id: str
    baseline: str
    candidate: str
    source: str
    planned: int
    status: Literal["running", "finished", "failed"]
    mode: Literal["live", "batch"]
    created_at: str
    finished_at: str | None
    summary: RunSummaryView | None
    stage: str | None = Field(description="A batch run's stage: collecting, drafting, judging, finished or failed.")
    queries: int | None
    drafts_batch_id: str | None
    judge_batch_id: str | None
    reason: str | None
    failed_cases: int
    batch_errors: list[CaseError]

    @classmethod
    def of(cls, run: StressRun) -> StressRunView:
        return cls(
            run_id=run.run_id,
            baseline=run.baseline,
            candidate=run.candidate,
            source=run.source,
            planned=run.planned,
            status=run.status,
            mode=run.mode,
            created_at=run.created_at,
            finished_at=run.finished_at,
            summary=RunSummaryView.of(run.summary) if run.summary else None,
            stage=run.stage.value if run.stage else None,
            queries=run.queries,
            drafts_batch_id=run.drafts_batch_id,
            judge_batch_id=run.judge_batch_id,
            reason=run.reason,
            failed_cases=run.failed_cases,
            batch_errors=[CaseError(case_id=e.case_id, message=e.message) for e in run.batch_errors],
        )


class StressTestView(ApiModel):
    run: StressRunView
    summary: SummaryView | None
    cases: list[CaseView]


class StressTestList(ApiModel):
    items: list[StressRunView]


class StressQueries(RequestModel):
    queries: list[StressCase] = Field(
        min_length=1, max_length=500, description="Queries for a batch run; a case id sent again replaces its query."
    )


class QueriesAdded(ApiModel):
    run_id: str
    added: int


class RequestCounts(ApiModel):
    total: int
    completed: int
    failed: int


class BatchProgressView(ApiModel):
    run_id: str
    baseline: str
    candidate: str
    stage: str = Field(description="collecting, drafting, judging, finished or failed.")
    status: str
    queries: int | None = None
    batch_id: str | None = Field(default=None, description="The OpenAI batch the run waits for (or waited for last).")
    batch_status: str | None = Field(default=None, description="That batch's status, as the Batch API says it.")
    request_counts: RequestCounts | None = None
    failed_cases: int = Field(default=0, description="Queries left out: a request of theirs failed or expired.")
    errors: list[CaseError] = Field(default_factory=list, description="Why, for the first 50 of them.")
    reason: str | None = Field(default=None, description="Why the run failed.")
    summary: SummaryView | None = None

    @classmethod
    def of(cls, progress: BatchProgress) -> BatchProgressView:
        run, batch = progress.run, progress.batch
        duration = run.summary.duration_seconds if run.summary else None
        return cls(
            run_id=run.run_id,
            baseline=run.baseline,
            candidate=run.candidate,
            stage=run.stage.value if run.stage else "",
            status=run.status,
            queries=run.queries,
            batch_id=batch.batch_id if batch else run.judge_batch_id or run.drafts_batch_id,
            batch_status=batch.status if batch else None,
            request_counts=RequestCounts(total=batch.total, completed=batch.completed, failed=batch.failed)
            if batch
            else None,
            failed_cases=run.failed_cases,
            errors=[CaseError(case_id=e.case_id, message=e.message) for e in run.batch_errors],
            reason=run.reason,
            summary=SummaryView.of(progress.summary, duration) if progress.summary else None,
        )
