"""The weekly retrain, one function per state of `statemachines/retrain.asl.json`.

begin -> export -> (skip | train -> (poll... | optimize...) -> register -> prepare_evaluation ->
evaluate_case (Map) -> decide), and `fail` from any Catch. Every step reads what it needs from the run
record and is safe to retry: the run, the files, the prompt version, the fine-tuning job, the candidate version and each
evaluated case are keyed by the run id (or the interaction id within it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from replyloop.domain.deadline import Deadline
from replyloop.domain.errors import InvalidRequestError, NotFoundError, ReplyloopError
from replyloop.domain.retrain import (
    Decision,
    Outcome,
    PromptMaterial,
    RunStatus,
    decide,
    evidence_of,
)
from replyloop.domain.retrain_names import PromotionPolicy, TrainerName
from replyloop.domain.runs import (
    DataFormat,
    NewStressRun,
    RetrainConfig,
    RunSummary,
    TrainerError,
    TrainingContext,
    TrainingState,
)
from replyloop.domain.stress import summarise
from replyloop.ports import (
    Llm,
    Outputs,
    OutputsFor,
    Redactor,
    Registry,
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
    fine_tune_method: Literal["sft", "dpo", "reinforcement"] | None = Field(default=None, alias="fineTuneMethod")
    endpoint: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{0,31}$")
    lookback_days: int | None = Field(default=None, alias="lookbackDays", ge=1, le=366)
    min_not_useful: int | None = Field(default=None, alias="minNotUseful", ge=0)
    margin: float | None = Field(default=None, ge=0)
    eval_cases: int | None = Field(default=None, alias="evalCases", ge=1, le=200)
    poll_seconds: int | None = Field(default=None, alias="pollSeconds", ge=1, le=3600)
    max_polls: int | None = Field(default=None, alias="maxPolls", ge=1)
    min_eval_cases: int | None = Field(default=None, alias="minEvalCases", ge=1, le=200)
    promotion: PromotionPolicy | None = None
    approval_timeout_seconds: int | None = Field(default=None, alias="approvalTimeoutSeconds", ge=1)
    training_policy: Literal["reviewed", "judged"] | None = Field(default=None, alias="trainingPolicy")
    version: str | None = Field(default=None, max_length=64)
    data_format: Literal["openai", "bedrock"] | None = Field(default=None, alias="format")
    max_metric_calls: int | None = Field(default=None, alias="maxMetricCalls", ge=1, le=100_000)

    def resolve(self, settings: RetrainSettings) -> RetrainConfig:
        """Every option, from the run's input or else the settings; read by every later step."""

        def pick(name: str) -> Any:
            chosen = getattr(self, name)
            return getattr(settings, name) if chosen is None else chosen

        trainer = TrainerName(pick("trainer"))
        return RetrainConfig(
            trainer=trainer,
            fine_tune_method=pick("fine_tune_method"),
            lookback_days=pick("lookback_days"),
            min_not_useful=pick("min_not_useful"),
            margin=pick("margin"),
            eval_cases=pick("eval_cases"),
            poll_seconds=pick("poll_seconds"),
            max_polls=pick("max_polls"),
            min_eval_cases=pick("min_eval_cases"),
            promotion=PromotionPolicy(pick("promotion")),
            approval_timeout_seconds=pick("approval_timeout_seconds"),
            training_policy=pick("training_policy"),
            version=self.version,
            data_format=_data_format(trainer, self.data_format),
            endpoint=self.endpoint or settings.fine_tune_endpoint,
            max_metric_calls=pick("max_metric_calls"),
        )


def _data_format(trainer: TrainerName, chosen: DataFormat | None) -> DataFormat:
    """The run's export format: as asked, else the one its trainer uploads; a trainer that uploads one
    format cannot train on the other (refused when the run starts, not hours later)."""
    needed = trainer.data_format
    if chosen is not None and needed is not None and chosen != needed:
        raise InvalidRequestError(f"The {trainer.value} trainer trains on the {needed} format, not {chosen}.")
    if chosen is not None:
        return chosen
    return "bedrock" if needed == "bedrock" else "openai"


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
    deadline: Deadline | None = None  # this invocation's time (the gepa trainer works within it)


NOT_DRAFTABLE = (
    "The candidate's model {model} is a Bedrock custom model: drafting with it needs Bedrock's Converse API, which "
    "replyloop does not have, so it was not evaluated; evaluate it in Bedrock and register it by hand if it wins."
)


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


def export(deps: Deps, run_id: str) -> dict[str, Any]:
    # Only the retrain function exports; the api function, which imports this module to start and read
    # runs, does not pay for the exporter's PII detectors at cold start.
    from replyloop.services.export import ExportOptions, export_training_data
    from replyloop.services.training_source import StoreSource

    config = _config(deps, run_id)
    _, prompt = active_assistant(deps.registry, deps.llm_settings, deps.now)
    options = ExportOptions(
        lookback_days=config.lookback_days,
        min_not_useful=config.min_not_useful,
        validation_share=deps.settings.validation_share,
        holdout_share=deps.settings.holdout_share,
        eval_cases=config.eval_cases,
        version=config.version,
        data_format=config.data_format,
    )
    outputs: Outputs = deps.outputs_for(run_id)
    result = export_training_data(
        StoreSource(deps.store, config.training_policy),  # services/training_source.py
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
        f"{result.counts['train.jsonl']} training examples from {result.rows} failed replies "
        f"({result.held_out} held out for evaluation)"
        if enough
        else (
            f"Not enough training examples: {result.counts['train.jsonl']} (at least {options.min_examples} needed) "
            f"from {result.rows} failed replies in {len(result.topics)} selected topics "
            f"(excluded: {_reasons(result.excluded)})."
        )
    )
    deps.runs.record_step(run_id, "export", "done", {**result.to_json(), "reason": reason}, deps.now)
    return {"enough": enough, "reason": reason, "examples": result.examples}


def _reasons(excluded: dict[str, int]) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in sorted(excluded.items(), key=lambda p: -p[1])) or "none"


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
        max_metric_calls=_config(deps, run_id).max_metric_calls,
        deadline=deps.deadline,
    )


def _trainer(deps: Deps, run_id: str) -> Trainer:
    config = _config(deps, run_id)
    return deps.trainer_for(config.trainer, config.fine_tune_method, endpoint=config.endpoint)


def train(deps: Deps, run_id: str) -> dict[str, Any]:
    state = _trainer(deps, run_id).start(_context(deps, run_id))
    deps.runs.save_data(run_id, "training", state.to_json())
    deps.runs.record_step(run_id, "train", state.status, state.to_json(), deps.now)
    if state.status in ("failed", "cancelled"):  # recorded first: the step shows what the trainer did
        raise TrainingFailedError(state.detail)
    return {"status": state.status, "polls": 0, "again": state.again}


def optimize(deps: Deps, run_id: str) -> dict[str, Any]:
    """One more invocation of a trainer that works by itself (gepa): it resumes from its checkpoint and
    stops when its budget is spent or the invocation's time runs short. The state machine loops here
    while the result says `again`; a retried invocation resumes from the same checkpoint."""
    stored = deps.runs.data(run_id, "training")
    if stored is None:
        raise NotFoundError(f"Run {run_id!r} has no training to continue.")
    state = TrainingState.from_json(stored)
    if state.status == "running":
        before = (state.progress or {}).get("metricCalls")
        state = _trainer(deps, run_id).poll(_context(deps, run_id), state)
        if state.again and before is not None and (state.progress or {}).get("metricCalls") == before:
            raise TrainerError(f"The trainer made no progress in one invocation ({before} metric calls spent).")
        deps.runs.save_data(run_id, "training", state.to_json())
        deps.runs.record_step(run_id, "train", state.status, state.to_json(), deps.now)
    if state.status in ("failed", "cancelled"):
        raise TrainingFailedError(state.detail)
    return {"status": state.status, "polls": 0, "again": state.again}


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
    return {"status": state.status, "polls": polls, "again": state.again}


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
                endpoint=state.endpoint,
            ),
            now=deps.now,
        )
    deps.runs.set_candidate(run_id, tag)
    details = {"candidate": tag, "model": version.model, "promptVersion": version.prompt_version}
    deps.runs.record_step(run_id, "register", "done", details, deps.now)
    return {"candidate": tag}


def prepare_evaluation(deps: Deps, run_id: str) -> dict[str, Any]:
    """A stress-test run (same id) of the active version against the candidate, on the held-out failed queries.

    The cases are the export's held-out split: no training line, validation line or exemplar came from
    them. As a last check, a case whose message digest is among the candidate prompt's exemplars is
    dropped (an older prompt may carry exemplars from before the split), and the step says how many.
    """
    from replyloop.domain.training import message_digest

    active, _ = active_assistant(deps.registry, deps.llm_settings, deps.now)
    exported = deps.runs.data(run_id, "export") or {}
    tag = candidate_tag(run_id)
    candidate = deps.registry.get_version(tag)
    exemplar_digests: set[str] = set()
    if candidate is not None:
        prompt = deps.registry.get_prompt_version(candidate.prompt_name, candidate.prompt_version)
        if prompt is not None:
            exemplar_digests = {message_digest(exemplar.message) for exemplar in prompt.exemplars}
    held_out = list(exported.get("evalCases") or [])
    cases = [case for case in held_out if case["digest"] not in exemplar_digests]
    late = _late_cases(deps, run_id, known={c["digest"] for c in held_out} | exemplar_digests, room=len(cases))
    ids = [case["interactionId"] for case in cases + late]
    if candidate is not None and candidate.trainer == TrainerName.BEDROCK_CUSTOMIZATION.value:
        # Its model is a Bedrock custom model: drafting with it needs the Converse API, not built.
        deps.runs.save_data(run_id, "evaluationNote", {"reason": NOT_DRAFTABLE.format(model=candidate.model)})
        ids = []
    try:
        deps.stress_log.get_run(run_id)
    except NotFoundError:
        deps.stress_log.create_run(NewStressRun(run_id, active.version_tag, tag, "retrain", len(ids)), deps.now)
    details = {
        "baseline": active.version_tag,
        "candidate": tag,
        "cases": len(ids),
        "droppedAsExemplars": len(held_out) - len(cases),
        "arrivedAfterExport": len(late),
    }
    deps.runs.record_step(run_id, "evaluate", "started", details, deps.now)
    return {"cases": [{"runId": run_id, "interactionId": interaction_id} for interaction_id in ids]}


def _late_cases(deps: Deps, run_id: str, *, known: set[str], room: int) -> list[dict[str, str]]:
    """Failures that arrived after the export (a fine-tuning run takes hours), held-out split only."""
    from replyloop.domain.clock import parse_timestamp
    from replyloop.services.export import ExportOptions, late_evaluation_cases
    from replyloop.services.training_source import late_failures

    config = _config(deps, run_id)
    step = deps.runs.get(run_id).step("export")
    if step is None or room >= config.eval_cases:
        return []
    options = ExportOptions(validation_share=deps.settings.validation_share, holdout_share=deps.settings.holdout_share)
    rows = late_failures(deps.store, config.training_policy, parse_timestamp(step.at), deps.now.date())
    return late_evaluation_cases(rows, deps.redactor, options, known=known, limit=config.eval_cases - room)


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
    """Summarise the held-out cases into evidence and apply the gate.

    A candidate that passed waits for a person (`awaiting_approval`) unless the run's promotion policy
    is `auto`; one that did not stays a candidate; too few cases is `insufficient_evidence`.
    """
    config = _config(deps, run_id)
    cases = deps.stress_log.cases(run_id)
    deps.stress_log.complete_run(run_id, RunSummary.of(summarise(cases), 0.0), deps.now)
    evidence = evidence_of(cases, seed=run_id)
    decision = decide(
        evidence,
        margin=config.margin,
        max_loss_share=deps.settings.max_loss_share,
        min_cases=config.min_eval_cases,
    )
    note = (deps.runs.data(run_id, "evaluationNote") or {}).get("reason")
    if note:
        decision = Decision(decision.outcome, f"{note} {decision.reason}")
    deps.runs.save_data(run_id, "evaluation", evidence.to_json())
    deps.runs.record_step(run_id, "evaluate", "done", evidence.to_json(), deps.now)
    if decision.outcome is Outcome.INSUFFICIENT_EVIDENCE:
        status = RunStatus.INSUFFICIENT_EVIDENCE
    elif not decision.passed:
        status = RunStatus.NOT_PROMOTED
    elif config.promotion is PromotionPolicy.AUTO:
        activate_version(deps.registry, deps.llm_settings, candidate_tag(run_id), now=deps.now)
        status = RunStatus.PROMOTED
    else:
        deps.runs.save_data(run_id, "gate", {"reason": decision.reason})
        return {
            "status": RunStatus.AWAITING_APPROVAL.value,
            "reason": decision.reason,
            "approvalTimeoutSeconds": config.approval_timeout_seconds,
        }
    deps.runs.record_step(run_id, "promote", status.value, {"reason": decision.reason, "by": "gate"}, deps.now)
    deps.runs.finish(run_id, status, decision.reason, deps.now)
    return {"status": status.value, "reason": decision.reason}


def await_approval(deps: Deps, run_id: str, task_token: str) -> dict[str, Any]:
    """The state machine waits on `task_token` until a person approves or rejects (or it expires)."""
    gate = str((deps.runs.data(run_id, "gate") or {}).get("reason") or "")
    # The step first: whoever sees the status change also sees the step.
    deps.runs.record_step(run_id, "approval", "waiting", {"candidate": candidate_tag(run_id)}, deps.now)
    deps.runs.await_approval(run_id, task_token, gate, deps.now)
    return {"status": RunStatus.AWAITING_APPROVAL.value}


def conclude_approval(deps: Deps, run_id: str, decision: dict[str, Any]) -> dict[str, Any]:
    """What the person decided (handed over by `SendTaskSuccess`): promote the candidate, or keep the incumbent."""
    approved, by = bool(decision.get("approved")), str(decision.get("by") or "unknown")
    note = str(decision.get("note") or "").strip()
    gate = str((deps.runs.data(run_id, "gate") or {}).get("reason") or "")
    said = f": {note}" if note else ""
    if approved:
        activate_version(deps.registry, deps.llm_settings, candidate_tag(run_id), now=deps.now)
        status, reason = RunStatus.PROMOTED, f"Approved by {by}{said}. {gate}".strip()
    else:
        status, reason = RunStatus.NOT_PROMOTED, f"Rejected by {by}{said}. {gate}".strip()
    deps.runs.record_step(run_id, "promote", status.value, {"reason": reason, "by": by, "note": note}, deps.now)
    deps.runs.finish(run_id, status, reason, deps.now)
    return {"status": status.value, "reason": reason}


def expire(deps: Deps, run_id: str) -> dict[str, Any]:
    """Nobody approved or rejected the candidate in time: the incumbent stays."""
    config = _config(deps, run_id)
    reason = (
        f"Nobody approved or rejected the candidate within {config.approval_timeout_seconds} s; the incumbent stays."
    )
    deps.runs.record_step(run_id, "promote", RunStatus.EXPIRED.value, {"reason": reason}, deps.now)
    deps.runs.finish(run_id, RunStatus.EXPIRED, reason, deps.now)
    return {"status": RunStatus.EXPIRED.value, "reason": reason}


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
