"""The weekly retrain, one function per state of `statemachines/retrain.asl.json`.

begin -> export -> (skip | train -> poll... -> register -> prepare_evaluation -> evaluate_case (Map) -> decide),
and `fail` from any Catch. Every step reads what it needs from the run record and is safe to retry:
the run, the files, the prompt version, the fine-tuning job, the candidate version and each
evaluated case are keyed by the run id (or the interaction id within it).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from replyloop.adapters.executions import StepFunctionsExecutions
from replyloop.adapters.llm import Llm, LlmSettings
from replyloop.adapters.registry import Registry
from replyloop.adapters.retrain_runs import DynamoRetrainRuns
from replyloop.adapters.stress_log import DynamoStressLog
from replyloop.adapters.trainers import Trainer, TrainerError, TrainingContext, TrainingState
from replyloop.domain.entities import Verdict
from replyloop.domain.errors import NotFoundError, ReplyloopError
from replyloop.domain.retrain import PromptMaterial, RunStatus, TrainerName, decide
from replyloop.domain.stress import summarise
from replyloop.domain.training import FailedReply
from replyloop.services.assistant import NewVersion, activate_version, active_assistant, register_version
from replyloop.services.evaluation import run_case

if TYPE_CHECKING:
    from replyloop.services.export import Outputs


class RetrainSettings(BaseModel):
    """Defaults from the environment (template parameters); a run's input may override some."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    trainer: TrainerName = Field(default=TrainerName.PROMPT, alias="RETRAIN_TRAINER")
    fine_tune_method: Literal["sft", "dpo"] = Field(default="sft", alias="RETRAIN_FINE_TUNE_METHOD")
    base_model: str | None = Field(default=None, alias="RETRAIN_BASE_MODEL")
    bucket: str | None = Field(default=None, alias="TRAINING_BUCKET")
    lookback_days: int = Field(default=30, ge=1, le=366, alias="RETRAIN_LOOKBACK_DAYS")
    min_not_useful: int = Field(default=5, ge=0, alias="RETRAIN_MIN_NOT_USEFUL")
    validation_share: float = Field(default=0.2, ge=0, lt=1, alias="RETRAIN_VALIDATION_SHARE")
    eval_cases: int = Field(default=20, ge=1, le=200, alias="RETRAIN_EVAL_CASES")
    margin: float = Field(default=0.5, ge=0, alias="RETRAIN_PROMOTION_MARGIN")
    max_loss_share: float = Field(default=0.3, ge=0, le=1, alias="RETRAIN_MAX_LOSS_SHARE")
    poll_seconds: int = Field(default=300, ge=1, le=3600, alias="RETRAIN_POLL_SECONDS")
    max_polls: int = Field(default=288, ge=1, alias="RETRAIN_MAX_POLLS")  # a day at the default interval


@lru_cache(maxsize=1)
def get_retrain_settings() -> RetrainSettings:
    return RetrainSettings.model_validate({k: v for k, v in os.environ.items() if v != ""})


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

    def resolve(self, settings: RetrainSettings) -> dict[str, Any]:
        chosen = {name: value for name, value in self.model_dump().items() if value is not None}
        return {
            "trainer": str(chosen.get("trainer", settings.trainer)),
            "fineTuneMethod": chosen.get("fine_tune_method", settings.fine_tune_method),
            "lookbackDays": chosen.get("lookback_days", settings.lookback_days),
            "minNotUseful": chosen.get("min_not_useful", settings.min_not_useful),
            "margin": chosen.get("margin", settings.margin),
            "evalCases": chosen.get("eval_cases", settings.eval_cases),
            "pollSeconds": chosen.get("poll_seconds", settings.poll_seconds),
            "maxPolls": chosen.get("max_polls", settings.max_polls),
        }


class TrainingTimeoutError(ReplyloopError):
    """The trainer did not finish within maxPolls polls."""


class TrainingFailedError(ReplyloopError):
    """The fine-tuning job failed or was cancelled."""


@dataclass(frozen=True, slots=True)
class Deps:
    runs: DynamoRetrainRuns
    registry: Registry
    store: Any  # adapters.dynamodb.DynamoStore
    stress_log: DynamoStressLog
    llm: Llm
    llm_settings: LlmSettings
    settings: RetrainSettings
    trainer_for: Any  # (TrainerName, fine-tune method) -> Trainer
    outputs_for: Any  # (run_id) -> Outputs
    now: datetime


def candidate_tag(run_id: str) -> str:
    return f"retrain-{run_id}"[:64]


# -- the steps ------------------------------------------------------------------------------------


def begin(
    deps: Deps, run_id: str, trigger: str, options: RunOptions, requested_by: str | None = None
) -> dict[str, Any]:
    config = options.resolve(deps.settings)
    deps.runs.create(run_id, trigger=trigger, trainer=config["trainer"], requested_by=requested_by, now=deps.now)
    deps.runs.save_data(run_id, "config", config)
    deps.runs.record_step(run_id, "begin", "started", {"config": config}, deps.now)
    return config


class StoreSource:
    """Failed interactions from the data table: per-day counters pick the versions, an index pages the rows."""

    def __init__(self, store: Any, registry: Registry) -> None:
        self.store, self.registry = store, registry

    def not_useful_by_version(self, start: date, end: date) -> dict[str, int]:
        return {
            version.version_tag: sum(day.not_useful for day in self.store.daily_stats(version.version_tag, start, end))
            for version in self.registry.list_versions()
        }

    def failed(self, versions: list[str], start: date, end: date) -> Any:
        from replyloop.adapters.store import ReplayQuery
        from replyloop.services.export import iter_pages

        for tag in versions:

            def page(cursor: str | None, tag: str = tag) -> tuple[list[Any], str | None]:
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


def failed_reply(record: Any) -> FailedReply:
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

    config = deps.runs.data(run_id, "config") or {}
    _, prompt = active_assistant(deps.registry, deps.llm_settings, deps.now)
    options = ExportOptions(
        lookback_days=int(config.get("lookbackDays", deps.settings.lookback_days)),
        min_not_useful=int(config.get("minNotUseful", deps.settings.min_not_useful)),
        validation_share=deps.settings.validation_share,
        eval_cases=int(config.get("evalCases", deps.settings.eval_cases)),
    )
    outputs: Outputs = deps.outputs_for(run_id)
    result = export_training_data(
        StoreSource(deps.store, deps.registry), prompt, outputs, options, run_id=run_id, now=deps.now
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
    config = deps.runs.data(run_id, "config") or {}
    name = TrainerName(config.get("trainer", deps.settings.trainer))
    trainer: Trainer = deps.trainer_for(name, config.get("fineTuneMethod", deps.settings.fine_tune_method))
    return trainer


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
    config = deps.runs.data(run_id, "config") or {}
    tag = candidate_tag(run_id)
    version = deps.registry.get_version(tag)
    if version is None:
        version = register_version(
            deps.registry,
            deps.llm_settings,
            NewVersion(
                version_tag=tag,
                description=f"Candidate from retrain run {run_id} ({config.get('trainer')} trainer).",
                model=state.model,
                prompt_version=state.prompt_version,
                fine_tune_id=state.fine_tune_id,
                trainer=str(config.get("trainer", deps.settings.trainer)),
            ),
            now=deps.now,
        )
    deps.runs.set_fields(run_id, candidateVersion=tag)
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
        deps.stress_log.create_run(run_id, active.version_tag, tag, "retrain", len(ids), deps.now)
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
        baseline=str(run["baseline"]),
        candidate=str(run["candidate"]),
        message=record.interaction.message,
        reference=reference,
        interaction_id=interaction_id,
    )
    deps.stress_log.save_case(run_id, result)  # keyed by the interaction: a retry overwrites, never adds
    return {"interactionId": interaction_id, "outcome": result.outcome, "evalScore": result.eval_score}


def finish_evaluation(deps: Deps, run_id: str) -> dict[str, Any]:
    """Summarise the cases and promote the candidate only if it wins by the margin."""
    config = deps.runs.data(run_id, "config") or {}
    cases = deps.stress_log.cases(run_id)
    summary = summarise(cases)
    deps.stress_log.complete_run(run_id, summary, 0.0, deps.now)
    decision = decide(
        summary,
        margin=float(config.get("margin", deps.settings.margin)),
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
    runs: DynamoRetrainRuns,
    executions: StepFunctionsExecutions,
    settings: RetrainSettings,
    options: RunOptions,
    *,
    run_id: str,
    requested_by: str,
    now: datetime,
) -> str:
    """Record the run, then start its execution (named by the run id); a failed start fails the run."""
    config = options.resolve(settings)
    runs.create(run_id, trigger="api", trainer=config["trainer"], requested_by=requested_by, now=now)
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
    runs.set_fields(run_id, executionArn=arn)
    return arn


def read_run(runs: DynamoRetrainRuns, executions: StepFunctionsExecutions | None, run_id: str, now: datetime) -> Any:
    """The run; one still `running` whose execution ended without a verdict (timeout, abort) is failed now."""
    run = runs.get(run_id)
    if run["status"] != RunStatus.RUNNING.value or not run.get("executionArn") or executions is None:
        return run
    state = executions.state(run["executionArn"])
    if state.status in ("RUNNING", "SUCCEEDED"):
        return run
    runs.finish(run_id, RunStatus.FAILED, f"The execution ended as {state.status}: {state.cause}".strip(), now)
    return runs.get(run_id)
