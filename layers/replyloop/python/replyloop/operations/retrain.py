"""`replyloop retrain`: start a retrain run through the HTTP API and follow its steps until it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from replyloop.models.retrain import NewRetrainRun, RetrainRunCreated, RetrainRunList, RetrainRunView
from replyloop.operations.api import Api

# Where following a run stops: it ended, or it waits for a person (`replyloop retrain approve|reject`).
TERMINAL = ("promoted", "not_promoted", "insufficient_evidence", "expired", "skipped", "failed", "awaiting_approval")


@dataclass(frozen=True)
class StepEvent:
    """A step reached an outcome (`RetrainRunView.steps`): shown once per step and outcome."""

    name: str
    outcome: str | None
    at: str
    detail: str


def start_run(api: Api, request: NewRetrainRun) -> RetrainRunCreated:
    """Start a run; options left unset take the stack's settings."""
    body = request.model_dump(by_alias=True, exclude_none=True)
    return RetrainRunCreated.model_validate(api.post("/api/retrain-runs", body))


def follow_run(
    api: Api,
    status_url: str,
    on_step: Callable[[StepEvent], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
    interval: float = 1.0,
) -> RetrainRunView:
    """Read the run every `interval` seconds until it ends, reporting each new step outcome."""
    shown: set[tuple[str, str | None]] = set()
    while True:
        run = RetrainRunView.model_validate(api.get(status_url))
        for name, step in run.steps.items():
            key = (name, step.get("outcome"))
            if key not in shown:
                shown.add(key)
                detail = step.get("reason") or step.get("detail") or ""
                on_step(StepEvent(name, step.get("outcome"), str(step.get("at", "")), str(detail)))
        if run.status in TERMINAL:
            return run
        sleep(interval)


def decide_run(api: Api, run_id: str, *, approve: bool, note: str | None) -> RetrainRunView:
    """Approve or reject a run's candidate that passed the gate; the run then promotes it or not."""
    body = {"note": note} if note else {}
    return RetrainRunView.model_validate(
        api.post(f"/api/retrain-runs/{run_id}/{'approve' if approve else 'reject'}", body)
    )


def list_runs(api: Api, limit: int) -> list[RetrainRunView]:
    """Recent runs, newest first."""
    return RetrainRunList.model_validate(api.get("/api/retrain-runs", limit=limit)).items
