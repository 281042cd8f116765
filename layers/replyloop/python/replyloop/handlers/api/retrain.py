"""Retrain runs (admin): start one now, list them, read one with each step's outcome."""

from __future__ import annotations

import uuid
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from replyloop.handlers.api.responses import api_responses
from replyloop.handlers.api.security import current_principal, require_admin
from replyloop.models.retrain import (
    ApprovalDecision,
    NewRetrainRun,
    RetrainManifest,
    RetrainRunCreated,
    RetrainRunList,
    RetrainRunView,
)
from replyloop.services import retrain, retrain_runs
from replyloop.wiring import get_executions, get_retrain_runs, get_retrain_settings, read_training_file, utc_now

router = APIGatewayHttpRouter()
RunId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,80}$", description="The retrain run's id.")]


@router.post(
    "/retrain-runs",
    middlewares=[require_admin],
    summary="Start a retrain run now (the schedule starts one weekly)",
    responses=api_responses(202, "The run is started; GET `statusUrl` for its progress", body=True),
)
def start_retrain_run(body: NewRetrainRun | None = None) -> tuple[RetrainRunCreated, int]:
    run_id = uuid.uuid4().hex
    options = retrain.RunOptions.model_validate((body or NewRetrainRun()).model_dump(by_alias=True))
    retrain_runs.start_run(
        get_retrain_runs(),
        get_executions(),
        get_retrain_settings(),
        options,
        run_id=run_id,
        requested_by=current_principal(router),
        now=utc_now(),
    )
    return RetrainRunCreated(run_id=run_id, status_url=f"/api/retrain-runs/{run_id}"), 202


@router.get(
    "/retrain-runs",
    middlewares=[require_admin],
    summary="Retrain runs, newest first",
    responses=api_responses(200, "Retrain runs, newest first"),
)
def list_retrain_runs(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> RetrainRunList:
    return RetrainRunList(items=[RetrainRunView.of(run) for run in retrain_runs.list_runs(get_retrain_runs(), limit)])


@router.get(
    "/retrain-runs/<run_id>",
    middlewares=[require_admin],
    summary="One retrain run: its status and each step's outcome",
    responses=api_responses(200, "The run and each step's outcome", 404),
)
def get_retrain_run(run_id: RunId) -> RetrainRunView:
    return RetrainRunView.of(retrain_runs.read_run(get_retrain_runs(), get_executions(), run_id, utc_now()))


@router.get(
    "/retrain-runs/<run_id>/manifest",
    middlewares=[require_admin],
    summary="A run's export manifest: selection, accounting, exclusions, held-out cases, each line's interaction id",
    responses=api_responses(200, "The manifest.json the export wrote", 404),
)
def get_retrain_manifest(run_id: RunId) -> RetrainManifest:
    return RetrainManifest.model_validate(retrain_runs.run_manifest(get_retrain_runs(), read_training_file, run_id))


def _decide(run_id: str, body: ApprovalDecision | None, *, approve: bool) -> tuple[RetrainRunView, int]:
    run = retrain_runs.decide_approval(
        get_retrain_runs(),
        get_executions(),
        run_id,
        approve=approve,
        by=current_principal(router),
        note=(body or ApprovalDecision()).note,
        now=utc_now(),
    )
    return RetrainRunView.of(run), 202


@router.post(
    "/retrain-runs/<run_id>/approve",
    middlewares=[require_admin],
    summary="Approve a candidate that passed the gate: the run promotes it",
    responses=api_responses(202, "Handed to the waiting run, which promotes the candidate", 404, 409, body=True),
)
def approve_retrain_run(run_id: RunId, body: ApprovalDecision | None = None) -> tuple[RetrainRunView, int]:
    return _decide(run_id, body, approve=True)


@router.post(
    "/retrain-runs/<run_id>/reject",
    middlewares=[require_admin],
    summary="Reject a candidate that passed the gate: the incumbent stays",
    responses=api_responses(202, "Handed to the waiting run, which keeps the incumbent", 404, 409, body=True),
)
def reject_retrain_run(run_id: RunId, body: ApprovalDecision | None = None) -> tuple[RetrainRunView, int]:
    return _decide(run_id, body, approve=False)
