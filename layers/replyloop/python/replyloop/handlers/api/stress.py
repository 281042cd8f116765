"""Stress tests (admin): a client sends queries, the API runs both versions and keeps the log.

Live runs answer each query at once (`/cases`); batch runs collect their queries (`/queries`) and go
through the OpenAI Batch API, moved on by `/batch/poll` (see services.stress_batch).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from replyloop.adapters.batches import get_batches
from replyloop.adapters.llm import get_llm, get_llm_settings
from replyloop.adapters.registry import get_registry
from replyloop.adapters.stress_log import get_stress_log
from replyloop.domain.errors import ConflictError, NotFoundError
from replyloop.domain.stress import summarise
from replyloop.domain.stress_batch import BatchQuery
from replyloop.handlers.api.responses import api_responses
from replyloop.handlers.api.security import require_admin
from replyloop.models.stress import (
    BatchProgressView,
    CaseView,
    FinishStressTest,
    NewStressTest,
    QueriesAdded,
    StressCase,
    StressQueries,
    StressTestCreated,
    StressTestList,
    StressTestView,
    SummaryView,
)
from replyloop.services import assistant, evaluation, stress_batch

router = APIGatewayHttpRouter()
RunId = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9_-]{1,80}$", description="The stress test's id (a retrain run's id for its evaluation)."),
]


@router.post(
    "/stress-tests",
    middlewares=[require_admin],
    summary="Start a stress test",
    responses=api_responses(201, "The new stress test", 404, 409, body=True),
)
def start_stress_test(body: NewStressTest) -> tuple[StressTestCreated, int]:
    now = datetime.now(UTC)
    baseline = body.baseline or assistant.active_assistant(get_registry(), get_llm_settings(), now)[0].version_tag
    for tag in (baseline, body.candidate):
        if get_registry().get_version(tag) is None:
            raise NotFoundError(f"No assistant version {tag!r}.")
    run_id = uuid.uuid4().hex
    batch = body.mode == "batch"
    get_stress_log().create_run(run_id, baseline, body.candidate, body.source, body.planned, now, batch=batch)
    return StressTestCreated(run_id=run_id, baseline=baseline, candidate=body.candidate, mode=body.mode), 201


def _require_live(run: dict[str, object]) -> None:
    if run.get("mode") == "batch":
        raise ConflictError(
            f"Stress test {run['runId']!r} is a batch run: add queries to /queries, then poll /batch/poll."
        )


@router.post(
    "/stress-tests/<run_id>/cases",
    middlewares=[require_admin],
    summary="Run one query through both versions, judge both, log it",
    responses=api_responses(200, "Both versions' replies and judgements for the query", 404, 409, body=True),
)
def run_stress_case(run_id: RunId, body: StressCase) -> CaseView:
    run = get_stress_log().get_run(run_id)
    _require_live(run)
    result = evaluation.run_case(
        get_registry(),
        get_llm(),
        get_llm_settings(),
        baseline=run["baseline"],
        candidate=run["candidate"],
        message=body.message,
        reference=body.reference_reply,
        interaction_id=body.interaction_id,
        case=body.case_id,
    )
    get_stress_log().save_case(run_id, result)
    return CaseView.of(result)


@router.post(
    "/stress-tests/<run_id>/finish",
    middlewares=[require_admin],
    summary="Close the run and summarise it",
    responses=api_responses(200, "The run's summary", 404, 409, body=True),
)
def finish_stress_test(run_id: RunId, body: FinishStressTest) -> SummaryView:
    log = get_stress_log()
    _require_live(log.get_run(run_id))
    summary = summarise(log.cases(run_id))
    log.complete_run(run_id, summary, body.duration_seconds, datetime.now(UTC))
    return SummaryView.of(summary, body.duration_seconds)


@router.post(
    "/stress-tests/<run_id>/queries",
    middlewares=[require_admin],
    summary="Add queries to a batch run (before its first poll)",
    responses=api_responses(200, "How many queries were added", 404, 409, body=True),
)
def add_stress_queries(run_id: RunId, body: StressQueries) -> QueriesAdded:
    queries = [
        BatchQuery(
            case_id=evaluation.case_id(query.message, query.interaction_id, query.case_id),
            message=query.message,
            reference_reply=query.reference_reply,
            interaction_id=query.interaction_id,
        )
        for query in body.queries
    ]
    stress_batch.add_queries(get_stress_log(), run_id, queries)
    return QueriesAdded(run_id=run_id, added=len(queries))


@router.post(
    "/stress-tests/<run_id>/batch/poll",
    middlewares=[require_admin],
    summary="Move a batch run on: submit its drafts, then its judgements, then log and summarise (idempotent)",
    responses=api_responses(200, "Where the batch run stands after this poll", 400, 404, 409),
)
def poll_stress_batch(run_id: RunId) -> BatchProgressView:
    deps = stress_batch.BatchDeps(
        log=get_stress_log(),
        registry=get_registry(),
        settings=get_llm_settings(),
        batches=get_batches(),
        now=datetime.now(UTC),
    )
    return BatchProgressView.of(stress_batch.poll(deps, run_id))


@router.get(
    "/stress-tests",
    middlewares=[require_admin],
    summary="Stress test runs, newest first",
    responses=api_responses(200, "Stress test runs, newest first"),
)
def list_stress_tests(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> StressTestList:
    return StressTestList(items=get_stress_log().list_runs(limit))


@router.get(
    "/stress-tests/<run_id>",
    middlewares=[require_admin],
    summary="One stress test: its summary and every query's result",
    responses=api_responses(200, "The run, its summary and every query's result", 404),
)
def get_stress_test(run_id: RunId) -> StressTestView:
    log = get_stress_log()
    run = log.get_run(run_id)
    cases = log.cases(run_id)
    duration = (run.get("summary") or {}).get("duration_seconds")
    return StressTestView(
        run=run,
        summary=SummaryView.of(summarise(cases), duration) if cases else None,
        cases=[CaseView.of(case) for case in cases],
    )
