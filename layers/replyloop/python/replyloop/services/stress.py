"""Stress tests: start a run, put queries through both versions, close it, read it back.

Live runs answer each query at once (`run_case`); batch runs collect their queries (`add_queries`)
and are moved on by `services.stress_batch.poll`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from replyloop.domain.endpoints import DEFAULT_ENDPOINT
from replyloop.domain.errors import ConflictError, InvalidRequestError, NotFoundError
from replyloop.domain.runs import NewStressRun, RunSummary, StressMode, StressRun
from replyloop.domain.stress import CaseResult, StressSummary, summarise
from replyloop.domain.stress_batch import BatchQuery
from replyloop.ports import Clock, Llm, Registry, StressLog
from replyloop.services import evaluation, stress_batch
from replyloop.services.assistant import active_assistant
from replyloop.settings import LlmSettings


@dataclass(frozen=True, slots=True)
class StressDeps:
    log: StressLog
    registry: Registry
    llm: Llm
    llm_settings: LlmSettings
    clock: Clock


@dataclass(frozen=True, slots=True)
class Query:
    """One query as a client sends it (live or batch)."""

    message: str
    reference_reply: str | None = None
    interaction_id: str | None = None
    case_id: str | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    summary: StressSummary
    duration_seconds: float


@dataclass(frozen=True, slots=True)
class StressTest:
    """A run with every query's result, summarised again from the cases."""

    run: StressRun
    summary: StressSummary | None
    cases: list[CaseResult]

    @property
    def duration_seconds(self) -> float | None:
        return self.run.summary.duration_seconds if self.run.summary else None


def start(
    deps: StressDeps, *, baseline: str | None, candidate: str, source: str, planned: int, mode: StressMode
) -> StressRun:
    """A new run of `candidate` against `baseline` (the active version when not given); both must exist."""
    now = deps.clock()
    baseline = baseline or active_assistant(deps.registry, deps.llm_settings, now)[0].version_tag
    for tag in (baseline, candidate):
        version = deps.registry.get_version(tag)
        if version is None:
            raise NotFoundError(f"No assistant version {tag!r}.")
        if mode == "batch" and version.endpoint != DEFAULT_ENDPOINT:
            # The Batch API is the default endpoint's: its drafts would come from the wrong provider.
            raise InvalidRequestError(
                f"Version {tag!r} is served from the {version.endpoint} endpoint; batch stress tests run on the "
                f"{DEFAULT_ENDPOINT} endpoint's Batch API only: start a live stress test instead."
            )
    return deps.log.create_run(NewStressRun(uuid.uuid4().hex, baseline, candidate, source, planned, mode), now)


def _live(log: StressLog, run_id: str) -> StressRun:
    run = log.get_run(run_id)
    if run.is_batch:
        raise ConflictError(f"Stress test {run_id!r} is a batch run: add queries to /queries, then poll /batch/poll.")
    return run


def run_case(deps: StressDeps, run_id: str, query: Query) -> CaseResult:
    """One query through both versions of a live run, judged and logged (a case id sent again overwrites)."""
    run = _live(deps.log, run_id)
    result = evaluation.run_case(
        deps.registry,
        deps.llm,
        deps.llm_settings,
        baseline=run.baseline,
        candidate=run.candidate,
        message=query.message,
        reference=query.reference_reply,
        interaction_id=query.interaction_id,
        case=query.case_id,
    )
    deps.log.save_case(run_id, result)
    return result


def finish(log: StressLog, run_id: str, duration_seconds: float, clock: Clock) -> Finished:
    """Close a live run: summarise its cases and keep the summary on the run."""
    _live(log, run_id)
    summary = summarise(log.cases(run_id))
    log.complete_run(run_id, RunSummary.of(summary, duration_seconds), clock())
    return Finished(summary, duration_seconds)


def add_queries(log: StressLog, run_id: str, queries: Sequence[Query]) -> int:
    """Queries for a batch run, before its first poll; returns how many were added."""
    batch = [
        BatchQuery(
            case_id=evaluation.case_id(query.message, query.interaction_id, query.case_id),
            message=query.message,
            reference_reply=query.reference_reply,
            interaction_id=query.interaction_id,
        )
        for query in queries
    ]
    stress_batch.add_queries(log, run_id, batch)
    return len(batch)


def get(log: StressLog, run_id: str) -> StressTest:
    run = log.get_run(run_id)
    cases = log.cases(run_id)
    return StressTest(run=run, summary=summarise(cases) if cases else None, cases=cases)


def list_runs(log: StressLog, limit: int) -> list[StressRun]:
    """Stress tests, newest first."""
    return log.list_runs(limit)
