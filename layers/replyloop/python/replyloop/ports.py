"""Every interface the services depend on; the adapters implement them, `wiring` picks which.

Imports only the domain (and the standard library), so a service that names a port never loads
boto3, botocore or openai. Fakes for tests implement the same protocols.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

if TYPE_CHECKING:
    # Annotations only (postponed by `from __future__ import annotations`): a function that imports the
    # ports does not build every domain dataclass at cold start (the workers need few of them).
    from replyloop.domain.deadline import Deadline
    from replyloop.domain.entities import (
        DailyStats,
        Explanation,
        Feedback,
        Improvement,
        Interaction,
        InteractionRecord,
        Page,
        ReplayRow,
        TrainingReview,
        Verdict,
        WhyThisReply,
    )
    from replyloop.domain.erasure import Erased, Erasure
    from replyloop.domain.feedback import FeedbackChange
    from replyloop.domain.learning import Job
    from replyloop.domain.prompts import PromptVersion
    from replyloop.domain.quota import Spend
    from replyloop.domain.redaction import Redaction
    from replyloop.domain.retrain import RunStatus
    from replyloop.domain.retrain_names import TrainerName
    from replyloop.domain.runs import (
        FineTuneMethod,
        NewStressRun,
        RetrainConfig,
        RetrainRun,
        RunSummary,
        StageChange,
        StressRun,
        TrainingContext,
        TrainingState,
    )
    from replyloop.domain.stress import CaseResult
    from replyloop.domain.stress_batch import BatchQuery, BatchState, Stage
    from replyloop.domain.training import FailedReply
    from replyloop.domain.versions import AssistantVersion

# -- the data store ---------------------------------------------------------------------------------


class ConcurrentChangeError(Exception):
    """The feedback changed between read and write; re-read and plan again."""


class WriteConflictError(ConcurrentChangeError):
    """Another transaction held an item the write needed (a counter shard); nothing was written, send it again."""


@dataclass(frozen=True, slots=True)
class CaptureWrite:
    """One atomic write: a new interaction, a verdict, or both (the one-call feedback log)."""

    interaction: Interaction
    is_new_interaction: bool
    feedback: FeedbackChange | None = None


@dataclass(frozen=True, slots=True)
class ReplayQuery:
    verdict: Verdict | None = None
    assistant_version: str | None = None
    start: date | None = None
    end: date | None = None
    limit: int = 20
    cursor: str | None = None
    order: Literal["newest", "oldest"] = "newest"


class RecentInteractions(Protocol):
    """Interactions this process recorded, read or gave a verdict on lately, each with its verdict as of then.

    Possibly stale: a write planned from it must be conditioned on what it holds (`record_feedback`)."""

    def get(self, interaction_id: str) -> tuple[Interaction, Feedback | None] | None: ...

    def remember(self, interaction: Interaction, feedback: Feedback | None) -> None: ...

    def forget(self, interaction_id: str) -> None: ...


class Store(Protocol):
    """Interactions, verdicts, counters, the review queue and the outbox (docs/data-model.md)."""

    def get_record(self, interaction_id: str) -> InteractionRecord | None: ...

    def save_capture(self, write: CaptureWrite) -> None: ...

    def list_replay(self, query: ReplayQuery) -> Page: ...

    def daily_stats(self, assistant_version: str | None, start: date, end: date) -> list[DailyStats]: ...

    def latest_not_useful(
        self, assistant_version: str | None, start: date, end: date, limit: int
    ) -> list[ReplayRow]: ...

    def failure_categories(self, topic: str, limit: int) -> list[str]: ...

    def category_days(self, assistant_version: str | None, start: date, end: date) -> dict[date, dict[str, int]]: ...

    def job_sent(self, job: Job) -> None: ...

    def pending_jobs(self, older_than: datetime, limit: int) -> list[Job]: ...

    def review_queue(self, limit: int, cursor: str | None) -> tuple[list[Interaction], str | None]: ...


class LearningStore(Store, Protocol):
    """What the workers write on top of the store: explanations, "why this reply?", improvements."""

    def known_categories(self) -> list[str]: ...

    def save_explanation(
        self, interaction: Interaction, explanation: Explanation, previous: Explanation | None
    ) -> bool: ...

    def save_why(self, why: WhyThisReply) -> None: ...

    def save_improvement(self, interaction: Interaction, improvement: Improvement) -> bool: ...

    def leaderboard(
        self, category: str | None, start: date | None, end: date | None, limit: int
    ) -> list[Improvement]: ...


class TrainingReviews(Protocol):
    """Which "not useful" verdicts' replies a reviewer let train (docs/data-model.md)."""

    def list_examples(
        self, status: str, topic: str | None, limit: int, cursor: str | None
    ) -> tuple[list[str], str | None]:
        """Interaction ids of training examples with this review status, newest first, and the next cursor."""
        ...

    def save_review(self, review: TrainingReview) -> bool:
        """False when the verdict changed since `review.revision` (nothing written)."""
        ...


class JobFailures(Protocol):
    """The last error of each queue message, for DLQ inspection."""

    def record_job_failure(self, message_id: str, error: str, now: datetime) -> None: ...

    def job_failure(self, message_id: str) -> dict[str, Any] | None: ...


class Registry(Protocol):
    """Assistant versions, the active pointer and prompt versions."""

    def ensure_defaults(self, version: AssistantVersion, prompt: PromptVersion) -> None: ...

    def active(self) -> tuple[AssistantVersion, PromptVersion] | None: ...

    def list_versions(self) -> list[AssistantVersion]: ...

    def get_version(self, tag: str) -> AssistantVersion | None: ...

    def put_version(self, version: AssistantVersion) -> None: ...

    def activate(
        self,
        version: AssistantVersion,
        prompt: PromptVersion,
        previous: AssistantVersion | None,
        now: datetime,
    ) -> None: ...

    def list_prompt_versions(self, name: str) -> list[PromptVersion]: ...

    def get_prompt_version(self, name: str, version: int) -> PromptVersion | None: ...

    def put_prompt_version(self, prompt: PromptVersion) -> None: ...


class JobQueue(Protocol):
    def send(self, job: Job) -> None: ...


# -- the model ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    token_logprobs: list[float] | None
    model: str
    prompt_tokens: int
    completion_tokens: int


Output = TypeVar("Output")


class Llm(Protocol):
    @property
    def description(self) -> str: ...

    def within(self, deadline: Deadline) -> Llm:
        """The same model for one invocation: each call fits in what `deadline` has left, and one that
        cannot is not started (`LlmUnavailableError`)."""
        ...

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        model: str,
        temperature: float,
        logprobs: bool,
        n: int = 1,
        max_tokens: int = 600,
    ) -> list[Completion]: ...

    def structured(
        self, messages: list[dict[str, str]], *, model: str, output: type[Output], temperature: float = 0.0
    ) -> tuple[Output, Completion]: ...

    def at(self, endpoint: str) -> Llm:
        """The same kind of client for the named endpoint (an assistant version's), within the same deadline;
        an endpoint that is not configured is an `LlmUnavailableError` naming it."""
        ...


class BatchApi(Protocol):
    """The OpenAI Batch API: request files in, result files out."""

    def find(self, metadata: Mapping[str, str], since: int) -> BatchState | None: ...

    def submit(self, name: str, lines: Iterator[str], metadata: Mapping[str, str]) -> BatchState: ...

    def retrieve(self, batch_id: str) -> BatchState: ...

    def cancel(self, batch_id: str) -> None: ...

    def lines(self, file_id: str) -> Iterator[str]: ...

    def structured_body(
        self, messages: list[dict[str, str]], *, model: str, output: type[Any], temperature: float = 0.0
    ) -> dict[str, Any]:
        """The body `Llm.structured` sends for `output`, for a batch line."""
        ...


# -- retrain runs and stress tests --------------------------------------------------------------------


class RetrainRuns(Protocol):
    def create(self, run_id: str, *, trigger: str, trainer: str, requested_by: str | None, now: datetime) -> bool:
        """A new running run; False when it already exists (a retried first step)."""
        ...

    def get(self, run_id: str) -> RetrainRun: ...

    def list(self, limit: int) -> list[RetrainRun]: ...

    def config(self, run_id: str) -> RetrainConfig | None: ...

    def save_config(self, run_id: str, config: RetrainConfig) -> None: ...

    def data(self, run_id: str, name: str) -> Any:
        """A JSON value a step stored for a later one (the export, the training state, the prompt material)."""
        ...

    def save_data(self, run_id: str, name: str, value: Any) -> None: ...

    def record_step(self, run_id: str, step: str, outcome: str, details: Mapping[str, Any], now: datetime) -> None: ...

    def set_execution(self, run_id: str, execution_arn: str) -> None: ...

    def set_candidate(self, run_id: str, version_tag: str) -> None: ...

    def finish(self, run_id: str, status: RunStatus, reason: str, now: datetime) -> None:
        """The run's final status; a finished run is never changed again (first finish wins)."""
        ...

    def await_approval(self, run_id: str, task_token: str, reason: str, now: datetime) -> None:
        """A running run that passed its gate (`reason`) now waits for a person, with the state machine's task token."""
        ...


class StressLog(Protocol):
    def create_run(self, run: NewStressRun, now: datetime) -> StressRun: ...

    def get_run(self, run_id: str) -> StressRun: ...

    def list_runs(self, limit: int) -> list[StressRun]: ...

    def save_case(self, run_id: str, result: CaseResult) -> None: ...

    def save_cases(self, run_id: str, results: Sequence[CaseResult]) -> None: ...

    def cases(self, run_id: str) -> list[CaseResult]: ...

    def add_queries(self, run_id: str, queries: Sequence[BatchQuery]) -> None: ...

    def queries(self, run_id: str) -> list[BatchQuery]: ...

    def complete_run(self, run_id: str, summary: RunSummary, now: datetime) -> None: ...

    def advance_stage(self, run_id: str, expected: Stage, stage: Stage, change: StageChange) -> bool:
        """Move a batch run from `expected` to `stage`; False when it was no longer at `expected`."""
        ...


@dataclass(frozen=True, slots=True)
class ExecutionState:
    status: str  # RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED
    cause: str


class Executions(Protocol):
    """Retrain executions (the state machine)."""

    def start(self, run_id: str, payload: Mapping[str, Any]) -> str: ...

    def state(self, execution_arn: str) -> ExecutionState: ...

    def resume(self, task_token: str, output: Mapping[str, Any]) -> None:
        """Hand a waiting task (`.waitForTaskToken`) its result.

        A token that is no longer waited on (expired, already decided) is a ConflictError."""
        ...


class Trainer(Protocol):
    name: TrainerName

    def start(self, context: TrainingContext) -> TrainingState: ...

    def poll(self, context: TrainingContext, state: TrainingState) -> TrainingState: ...


class Trainers(Protocol):
    def __call__(self, name: TrainerName, method: FineTuneMethod, *, endpoint: str = "openai") -> Trainer:
        """The run's trainer; a fine-tuning one trains on the named endpoint."""
        ...


class FailedSource(Protocol):
    def failed(self, start: date, end: date, version: str | None = None) -> Iterator[FailedReply]:
        """Every "not useful" verdict of the window (one version's only, when named), with what the
        training policy decided about it (`FailedReply.excluded_reason`)."""
        ...


class Redactor(Protocol):
    """Personal data out of a text: what each span was, replaced by its kind's placeholder."""

    def __call__(self, text: str, *, known_names: Iterable[str] = ()) -> Redaction: ...


class Outputs(Protocol):
    def write(self, name: str, text: str) -> None: ...

    def finish(self) -> dict[str, str]:
        """Close everything written; returns name -> location."""
        ...


class OutputsFor(Protocol):
    """Where a run's export writes its files."""

    def __call__(self, run_id: str) -> Outputs: ...


class CustomerData(Protocol):
    """One customer's stored data, found through the `customer` index, and the erasure records."""

    def interactions_of(self, customer_id: str) -> list[str]:
        """The ids of the customer's interactions that still exist (keys only: ~10,000 a page)."""
        ...

    def erase_interaction(self, interaction_id: str) -> int:
        """Delete every item of the interaction (its own item last, so a retry still finds it); the count."""
        ...

    def erase_stress_cases(self, interaction_ids: Collection[str]) -> int:
        """Delete every stress-test case and queued query made from these interactions; the count."""
        ...

    def save_erasure(self, erasure: Erasure) -> None: ...

    def get_erasure(self, erasure_id: str) -> Erasure | None: ...

    def pending_erasures(self, limit: int) -> list[Erasure]: ...


class ExportFiles(Protocol):
    """The export objects of every retrain run (training bucket)."""

    def erase_lines(self, interaction_ids: Collection[str]) -> Erased:
        """Rewrite each export object that holds a line of these interactions without it (the manifests'
        provenance says which), leaving no earlier version behind; `export_objects` counts the rewritten."""
        ...


class Quotas(Protocol):
    def spend(self, principal: str, spend: Spend, now: datetime) -> None:
        """Charge `principal` what `spend` can cost; `QuotaExceededError` (nothing charged) past the limit."""
        ...


class Clock(Protocol):
    def __call__(self) -> datetime: ...
