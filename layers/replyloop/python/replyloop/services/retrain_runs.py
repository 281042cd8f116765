"""Retrain runs as the API sees them: start one, read and list them, decide an approval, read a manifest.

The steps the state machine runs are `services/retrain.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from replyloop.domain.errors import ConflictError, NotFoundError, ReplyloopError
from replyloop.domain.retrain import RunStatus
from replyloop.domain.runs import RetrainRun
from replyloop.ports import Executions, RetrainRuns
from replyloop.services.retrain import RunOptions
from replyloop.settings import RetrainSettings


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
    """The run; one still `running` (or awaiting approval) whose execution ended without a verdict (timeout,
    abort) is failed now."""
    run = runs.get(run_id)
    unfinished = run.status in (RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL)
    if not unfinished or not run.execution_arn or executions is None:
        return run
    state = executions.state(run.execution_arn)
    if state.status in ("RUNNING", "SUCCEEDED"):
        return run
    runs.finish(run_id, RunStatus.FAILED, f"The execution ended as {state.status}: {state.cause}".strip(), now)
    return runs.get(run_id)


def list_runs(runs: RetrainRuns, limit: int) -> list[RetrainRun]:
    """Retrain runs, newest first."""
    return runs.list(limit)


def decide_approval(
    runs: RetrainRuns, executions: Executions, run_id: str, *, approve: bool, by: str, note: str | None, now: datetime
) -> RetrainRun:
    """A person's answer to a run awaiting approval, handed to the waiting state machine (which promotes or not)."""
    run = runs.get(run_id)
    if run.status is not RunStatus.AWAITING_APPROVAL:
        raise ConflictError(f"Retrain run {run_id!r} is {run.status.value}, not awaiting approval.")
    token = runs.data(run_id, "taskToken")
    if not token:
        raise ConflictError(f"Retrain run {run_id!r} has no waiting approval task yet; try again shortly.")
    executions.resume(str(token), {"approved": approve, "by": by, "note": note or ""})
    decided = "approved" if approve else "rejected"
    runs.record_step(run_id, "approval", decided, {"by": by, "note": note or ""}, now)
    return runs.get(run_id)


def run_manifest(runs: RetrainRuns, read: Callable[[str], bytes], run_id: str) -> dict[str, Any]:
    """The run's export manifest: selection, accounting, exclusions by reason, held-out cases, provenance."""
    runs.get(run_id)  # NotFoundError for an unknown run
    exported = runs.data(run_id, "export") or {}
    location = (exported.get("files") or {}).get("manifest.json")
    if not location:
        raise NotFoundError(f"Retrain run {run_id!r} has no export manifest (yet).")
    manifest: dict[str, Any] = json.loads(read(str(location)))
    return manifest
