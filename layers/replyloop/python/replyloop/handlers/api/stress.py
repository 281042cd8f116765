"""Stress tests (admin): a client sends queries, the API runs both versions and keeps the log.

Live runs answer each query at once (`/cases`); batch runs collect their queries (`/queries`) and go
through the OpenAI Batch API, moved on by `/batch/poll` (see services.stress_batch).
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

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
    StressRunView,
    StressTestCreated,
    StressTestList,
    StressTestView,
    SummaryView,
)
from replyloop.services import stress, stress_batch
from replyloop.wiring import get_batches, get_llm, get_llm_settings, get_redactor, get_registry, get_stress_log, utc_now

router = APIGatewayHttpRouter()
RunId = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9_-]{1,80}$", description="The stress test's id (a retrain run's id for its evaluation)."),
]


def _deps() -> stress.StressDeps:
    return stress.StressDeps(
        log=get_stress_log(), registry=get_registry(), llm=get_llm(), llm_settings=get_llm_settings(), clock=utc_now
    )


def _query(case: StressCase) -> stress.Query:
    return stress.Query(
        message=case.message,
        reference_reply=case.reference_reply,
        interaction_id=case.interaction_id,
        case_id=case.case_id,
    )


@router.post(
    "/stress-tests",
    middlewares=[require_admin],
    summary="Start a stress test",
    responses=api_responses(201, "The new stress test", 404, 409, body=True),
)
def start_stress_test(body: NewStressTest) -> tuple[StressTestCreated, int]:
    run = stress.start(
        _deps(),
        baseline=body.baseline,
        candidate=body.candidate,
        source=body.source,
        planned=body.planned,
        mode=body.mode,
    )
    return StressTestCreated(run_id=run.run_id, baseline=run.baseline, candidate=run.candidate, mode=run.mode), 201


@router.post(
    "/stress-tests/<run_id>/cases",
    middlewares=[require_admin],
    summary="Run one query through both versions, judge both, log it",
    responses=api_responses(200, "Both versions' replies and judgements for the query", 404, 409, body=True),
)
def run_stress_case(run_id: RunId, body: StressCase) -> CaseView:
    return CaseView.of(stress.run_case(_deps(), run_id, _query(body)))


@router.post(
    "/stress-tests/<run_id>/finish",
    middlewares=[require_admin],
    summary="Close the run and summarise it",
    responses=api_responses(200, "The run's summary", 404, 409, body=True),
)
def finish_stress_test(run_id: RunId, body: FinishStressTest) -> SummaryView:
    finished = stress.finish(get_stress_log(), run_id, body.duration_seconds, utc_now)
    return SummaryView.of(finished.summary, finished.duration_seconds)


@router.post(
    "/stress-tests/<run_id>/queries",
    middlewares=[require_admin],
    summary="Add queries to a batch run (before its first poll)",
    responses=api_responses(200, "How many queries were added", 404, 409, body=True),
)
def add_stress_queries(run_id: RunId, body: StressQueries) -> QueriesAdded:
    added = stress.add_queries(get_stress_log(), run_id, [_query(case) for case in body.queries])
    return QueriesAdded(run_id=run_id, added=added)


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
        now=utc_now(),
        redactor=get_redactor(),
    )
    return BatchProgressView.of(stress_batch.poll(deps, run_id))


@router.get(
    "/stress-tests",
    middlewares=[require_admin],
    summary="Stress test runs, newest first",
    responses=api_responses(200, "Stress test runs, newest first"),
)
def list_stress_tests(limit: Annotated[int, Query(ge=1, le=100)] = 20) -> StressTestList:
    return StressTestList(items=[StressRunView.of(run) for run in stress.list_runs(get_stress_log(), limit)])


@router.get(
    "/stress-tests/<run_id>",
    middlewares=[require_admin],
    summary="One stress test: its summary and every query's result",
    responses=api_responses(200, "The run, its summary and every query's result", 404),
)
def get_stress_test(run_id: RunId) -> StressTestView:
    found = stress.get(get_stress_log(), run_id)
    return StressTestView(
        run=StressRunView.of(found.run),
        summary=SummaryView.of(found.summary, found.duration_seconds) if found.summary else None,
        cases=[CaseView.of(case) for case in found.cases],
    )
