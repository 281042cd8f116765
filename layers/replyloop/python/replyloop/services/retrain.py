"""The weekly retrain, one function per state of `statemachines/retrain.asl.json`.

begin -> export -> (skip | train -> poll... -> register -> prepare_evaluation -> evaluate_case (Map) -> decide),
and `fail` from any Catch. Every step reads what it needs from the run record and is safe to retry:
the run, the files, the prompt version, the fine-tuning job, the candidate version and each
evaluated case are keyed by the run id (or the interaction id within it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from replyloop.domain.entities import InteractionRecord, ReplayRow, Verdict
from replyloop.domain.errors import NotFoundError, ReplyloopError
from replyloop.domain.retrain import PromptMaterial, RunStatus, TrainerName, decide
from replyloop.domain.runs import (
    NewStressRun,
    RetrainConfig,
    RetrainRun,
    RunSummary,
    TrainerError,
    TrainingContext,
    TrainingState,
)
from replyloop.domain.stress import summarise
from replyloop.domain.training import FailedReply
from replyloop.ports import (
    Executions,
    Llm,
    Outputs,
    OutputsFor,
    Redactor,
    Registry,
    ReplayQuery,
    RetrainRuns,
    Store,
    StressLog,
    Trainer,
    Trainers,
)
from replyloop.services.assistant import NewVersion, activate_version, active_assistant, register_version
from replyloop.services.evaluation import run_case
from replyloop.settings import LlmSettings, RetrainSettings


class RunOptions(BaseModel):
    """What a run was started with (the execution input), camelCase; anything unset uses the settings."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    trainer: TrainerName | None = None
    fine_tune_method: Literal["sft", "dpo"] | None = Field(default=None, alias="fineTuneMethod")
    lookback_days: int | None = Field(default=None, alias="lookbackDays", ge=1, le=366)
    min_not_useful: int | None = Field(default=None, alias="minNotUseful", ge=0)
    margin: float | None = Field(default=None, ge=0)
    eval_cases: int | None = Field(default=None, alias="evalCases", ge=1, le=200)
    poll_seconds: int | None = Field(default=None, alias="pollSeconds", ge=1, le=3600)
    max_polls: int | None = Field(default=None, alias="maxPolls", ge=1)

    def resolve(self, settings: RetrainSettings) -> RetrainConfig:
        """Every option, from the run's input or else the settings; read by every later step."""

        def pick(name: str) -> Any:
            chosen = getattr(self, name)
            return getattr(settings, name) if chosen is None else chosen

        return RetrainConfig(
            trainer=TrainerName(pick("trainer")),
            fine_tune_method=pick("fine_tune_method"),
            lookback_days=pick("lookback_days"),
            min_not_useful=pick("min_not_useful"),
            margin=pick("margin"),
            eval_cases=pick("eval_cases"),
            poll_seconds=pick("poll_seconds"),
            max_polls=pick("max_polls"),
        )


class TrainingTimeoutError(ReplyloopError):
    """The trainer did not finish within maxPolls polls."""


class TrainingFailedError(ReplyloopError):
    """The fine-tuning job failed or was cancelled."""


@dataclass(frozen=True, slots=True)
class Deps:
    runs: RetrainRuns
    registry: Registry
    store: Store
    stress_log: StressLog
    llm: Llm
    llm_settings: LlmSettings
    settings: RetrainSettings
    trainer_for: Trainers
    outputs_for: OutputsFor
    redactor: Redactor
    now: datetime


def candidate_tag(run_id: str) -> str:
    return f"retrain-{run_id}"[:64]


# -- the steps ------------------------------------------------------------------------------------


def begin(
    deps: Deps, run_id: str, trigger: str, options: RunOptions, requested_by: str | None = None
) -> dict[str, Any]:
    config = options.resolve(deps.settings)
    deps.runs.create(run_id, trigger=trigger, trainer=config.trainer.value, requested_by=requested_by, now=deps.now)
    deps.runs.save_config(run_id, config)
    deps.runs.record_step(run_id, "begin", "started", {"config": config.to_json()}, deps.now)
    return config.to_json()


def _config(deps: Deps, run_id: str) -> RetrainConfig:
    config = deps.runs.config(run_id)
    if config is None:
        raise NotFoundError(f"Retrain run {run_id!r} has not begun.")
    return config


class StoreSource:
    """Failed interactions from the data table: per-day counters pick the versions, an index pages the rows."""

    def __init__(self, store: Store, registry: Registry) -> None:
        self.store, self.registry = store, registry

    def not_useful_by_version(self, start: date, end: date) -> dict[str, int]:
        return {
            version.version_tag: sum(day.not_useful for day in self.store.daily_stats(version.version_tag, start, end))
            for version in self.registry.list_versions()
        }

    def failed(self, versions: list[str], start: date, end: date) -> Iterator[FailedReply]:
        from replyloop.services.export import iter_pages

        for tag in versions:

            def page(cursor: str | None, tag: str = tag) -> tuple[list[ReplayRow], str | None]:
                found = self.store.list_replay(
                    ReplayQuery(
                        verdict=Verdict.NOT_USEFUL,
                        assistant_version=tag,
                        start=start,
                        end=end,
                        limit=100,
                        cursor=cursor,
                    )
                )
                return found.rows, found.next_cursor

            for row in iter_pages(page):
                record = self.store.get_record(row.interaction.interaction_id)
                if record is not None:
                    yield failed_reply(record)


def failed_reply(record: InteractionRecord) -> FailedReply:
    improvement, explanation = record.improvement, record.explanation
    kept = improvement if improvement is not None and not improvement.rejected_reason else None
    return FailedReply(
        interaction_id=record.interaction.interaction_id,
        message=record.interaction.message,
        ai_reply=record.interaction.ai_reply,
        agent_reply=record.feedback.agent_reply if record.feedback else None,
        corrected_reply=kept.corrected_reply if kept else None,
        failure_category=explanation.failure_category if explanation else None,
        explanation=explanation.explanation if explanation else None,
        score_gain=kept.score_gain_estimate if kept else None,
    )


def export(deps: Deps, run_id: str) -> dict[str, Any]:
    # Only the retrain function exports; the api function, which imports this module to start and read
    # runs, does not pay for the exporter's PII detectors at cold start.
    from replyloop.services.export import ExportOptions, export_training_data

    config = _config(deps, run_id)
    _, prompt = active_assistant(deps.registry, deps.llm_settings, deps.now)
    options = ExportOptions(
        lookback_days=config.lookback_days,
        min_not_useful=config.min_not_useful,
        validation_share=deps.settings.validation_share,
        eval_cases=config.eval_cases,
    )
    outputs: Outputs = deps.outputs_for(run_id)
    result = export_training_data(
        StoreSource(deps.store, deps.registry),
        prompt,
        outputs,
        options,
        redactor=deps.redactor,
        run_id=run_id,
        now=deps.now,
    )
    deps.runs.save_data(run_id, "material", result.material.to_json())
    deps.runs.save_data(run_id, "export", result.to_json())
    enough = result.enough
    reason = (
        f"{result.counts['train.jsonl']} training examples from {result.rows} failed replies"
        if enough
        else (
            f"Not enough training examples: {result.counts['train.jsonl']} (at least {options.min_examples} needed) "
            f"from {result.rows} failed replies in {len(result.versions)} selected versions."
        )
    )
    deps.runs.record_step(run_id, "export", "done", {**result.to_json(), "reason": reason}, deps.now)
    return {"enough": enough, "reason": reason, "examples": result.examples}


def skip(deps: Deps, run_id: str, reason: str) -> dict[str, Any]:
    deps.runs.record_step(run_id, "skip", "skipped", {"reason": reason}, deps.now)
    deps.runs.finish(run_id, RunStatus.SKIPPED, reason, deps.now)
    return {"status": RunStatus.SKIPPED.value}


def _context(deps: Deps, run_id: str) -> TrainingContext:
    active, prompt = active_assistant(deps.registry, deps.llm_settings, deps.now)
    exported = deps.runs.data(run_id, "export") or {}
    return TrainingContext(
        run_id=run_id,
        active=active,
        active_prompt=prompt,
        material=PromptMaterial.from_json(deps.runs.data(run_id, "material") or {}),
        files=dict(exported.get("files") or {}),
        now=deps.now,
    )


def _trainer(deps: Deps, run_id: str) -> Trainer:
    config = _config(deps, run_id)
    return deps.trainer_for(config.trainer, config.fine_tune_method)


def train(deps: Deps, run_id: str) -> dict[str, Any]:
    state = _trainer(deps, run_id).start(_context(deps, run_id))
    deps.runs.save_data(run_id, "training", state.to_json())
    deps.runs.record_step(run_id, "train", state.status, state.to_json(), deps.now)
    return {"status": state.status, "polls": 0}


def poll(deps: Deps, run_id: str, polls: int, max_polls: int) -> dict[str, Any]:
    stored = deps.runs.data(run_id, "training")
    if stored is None:
        raise NotFoundError(f"Run {run_id!r} has no training to poll.")
    state = TrainingState.from_json(stored)
    if state.status == "running":
        state = _trainer(deps, run_id).poll(_context(deps, run_id), state)
        deps.runs.save_data(run_id, "training", state.to_json())
    polls += 1
    deps.runs.record_step(run_id, "train", state.status, {**state.to_json(), "polls": polls}, deps.now)
    if state.status == "running" and polls >= max_polls:
        raise TrainingTimeoutError(f"Training did not finish after {polls} polls; the job may still be running.")
    if state.status in ("failed", "cancelled"):
        raise TrainingFailedError(state.detail)
    return {"status": state.status, "polls": polls}


def register(deps: Deps, run_id: str) -> dict[str, Any]:
    stored = deps.runs.data(run_id, "training")
    if stored is None or stored["status"] != "succeeded":
        raise TrainerError(f"Run {run_id!r} has no finished training to register.")
    state = TrainingState.from_json(stored)
    config = _config(deps, run_id)
    tag = candidate_tag(run_id)
    version = deps.registry.get_version(tag)
    if version is None:
        version = register_version(
            deps.registry,
            deps.llm_settings,
            NewVersion(
                version_tag=tag,
                description=f"Candidate from retrain run {run_id} ({config.trainer.value} trainer).",
                model=state.model,
                prompt_version=state.prompt_version,
                fine_tune_id=state.fine_tune_id,
                trainer=config.trainer.value,
            ),
            now=deps.now,
        )
    deps.runs.set_candidate(run_id, tag)
    details = {"candidate": tag, "model": version.model, "promptVersion": version.prompt_version}
    deps.runs.record_step(run_id, "register", "done", details, deps.now)
    return {"candidate": tag}


def prepare_evaluation(deps: Deps, run_id: str) -> dict[str, Any]:
    """A stress-test run (same id) of the active version against the candidate, on the held-out failed queries."""
    active, _ = active_assistant(deps.registry, deps.llm_settings, deps.now)
    exported = deps.runs.data(run_id, "export") or {}
    ids = list(exported.get("evalCaseIds") or [])
    tag = candidate_tag(run_id)
    try:
        deps.stress_log.get_run(run_id)
    except NotFoundError:
        deps.stress_log.create_run(NewStressRun(run_id, active.version_tag, tag, "retrain", len(ids)), deps.now)
    deps.runs.record_step(
        run_id, "evaluate", "started", {"baseline": active.version_tag, "candidate": tag, "cases": len(ids)}, deps.now
    )
    return {"cases": [{"runId": run_id, "interactionId": interaction_id} for interaction_id in ids]}


def evaluate_case(deps: Deps, run_id: str, interaction_id: str) -> dict[str, Any]:
    record = deps.store.get_record(interaction_id)
    if record is None:
        raise NotFoundError(f"No interaction {interaction_id!r}.")
    run = deps.stress_log.get_run(run_id)
    reference = (record.feedback.agent_reply if record.feedback else None) or None
    result = run_case(
        deps.registry,
        deps.llm,
        deps.llm_settings,
        baseline=run.baseline,
        candidate=run.candidate,
        message=record.interaction.message,
        reference=reference,
        interaction_id=interaction_id,
    )
    deps.stress_log.save_case(run_id, result)  # keyed by the interaction: a retry overwrites, never adds
    return {"interactionId": interaction_id, "outcome": result.outcome, "evalScore": result.eval_score}


def finish_evaluation(deps: Deps, run_id: str) -> dict[str, Any]:
    """Summarise the cases and promote the candidate only if it wins by the margin."""
    config = _config(deps, run_id)
    cases = deps.stress_log.cases(run_id)
    summary = summarise(cases)
    deps.stress_log.complete_run(run_id, RunSummary.of(summary, 0.0), deps.now)
    decision = decide(
        summary,
        margin=config.margin,
        max_loss_share=deps.settings.max_loss_share,
    )
    figures = {
        "cases": summary.cases,
        "baselineMean": summary.baseline_mean,
        "candidateMean": summary.candidate_mean,
        "wins": summary.wins,
        "losses": summary.losses,
        "ties": summary.ties,
    }
    deps.runs.record_step(run_id, "evaluate", "done", figures, deps.now)
    if decision.promote:
        activate_version(deps.registry, deps.llm_settings, candidate_tag(run_id), now=deps.now)
        status = RunStatus.PROMOTED
    else:
        status = RunStatus.NOT_PROMOTED
    deps.runs.record_step(run_id, "promote", status.value, {"reason": decision.reason}, deps.now)
    deps.runs.finish(run_id, status, decision.reason, deps.now)
    return {"status": status.value, "reason": decision.reason}


def fail(deps: Deps, run_id: str, error: dict[str, Any] | None) -> dict[str, Any]:
    """What a Catch hands over ({"Error", "Cause"}), recorded as the run's failure."""
    error = error or {}
    kind = str(error.get("Error") or "Error")
    cause = str(error.get("Cause") or "")
    try:
        parsed = json.loads(cause)
        cause = str(parsed.get("errorMessage") or cause)
        kind = str(parsed.get("errorType") or kind)
    except (ValueError, AttributeError):
        pass
    reason = f"{kind}: {cause}".strip().rstrip(":")[:1000]
    deps.runs.record_step(run_id, "fail", "failed", {"error": kind, "cause": cause[:1000]}, deps.now)
    deps.runs.finish(run_id, RunStatus.FAILED, reason, deps.now)
    return {"status": RunStatus.FAILED.value, "reason": reason}


# -- starting and reading runs (the API) ----------------------------------------------------------


def start_run(
    runs: RetrainRuns,
    executions: Executions,
    settings: RetrainSettings,
    options: RunOptions,
    *,
    run_id: str,
    requested_by: str,
    now: datetime,
) -> str:
    """Record the run, then start its execution (named by the run id); a failed start fails the run."""
    config = options.resolve(settings)
    runs.create(run_id, trigger="api", trainer=config.trainer.value, requested_by=requested_by, now=now)
    payload = {
        "trigger": "api",
        "requestedBy": requested_by,
        "options": options.model_dump(by_alias=True, mode="json", exclude_none=True),
    }
    try:
        arn = executions.start(run_id, payload)
    except ReplyloopError as error:
        runs.finish(run_id, RunStatus.FAILED, str(error), now)
        raise
    runs.set_execution(run_id, arn)
    return arn


def read_run(runs: RetrainRuns, executions: Executions | None, run_id: str, now: datetime) -> RetrainRun:
    """The run; one still `running` whose execution ended without a verdict (timeout, abort) is failed now."""
    run = runs.get(run_id)
    if run.status is not RunStatus.RUNNING or not run.execution_arn or executions is None:
        return run
    state = executions.state(run.execution_arn)
    if state.status in ("RUNNING", "SUCCEEDED"):
        return run
    runs.finish(run_id, RunStatus.FAILED, f"The execution ended as {state.status}: {state.cause}".strip(), now)
    return runs.get(run_id)


def list_runs(runs: RetrainRuns, limit: int) -> list[RetrainRun]:
    """Retrain runs, newest first."""
    return runs.list(limit)
