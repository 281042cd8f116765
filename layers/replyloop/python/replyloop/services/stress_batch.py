"""Batch-mode stress tests: the same drafts and judgements as the live harness, through the Batch API.

A batch run collects its queries first (`add_queries`), then each `poll` moves it one step when it can:

  collecting --submit drafts batch--> drafting --drafts back: submit judging batch--> judging
  --judgements back: log every case, summarise--> finished      (or failed, with the reason)

Every poll is safe to repeat. A batch is created only after looking for one this run already made
(by its metadata), and the stage moves with a conditional write: a poll that loses a race cancels
the batch it made and reports the winner's. Results are matched by `custom_id` and logged per case
id, so collecting twice overwrites the same items. The drafts' results are read again from their
output file when the judgements are back rather than stored in between.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from replyloop.domain.clock import format_timestamp, parse_timestamp
from replyloop.domain.errors import ConflictError, InvalidRequestError
from replyloop.domain.learning import judge_messages
from replyloop.domain.prompts import build_draft_messages, chat_body
from replyloop.domain.runs import BatchProgress, CaseError, RunSummary, StageChange, StressRun
from replyloop.domain.stress import CaseResult, summarise
from replyloop.domain.stress_batch import (
    BATCH_PRICE_FACTOR,
    MAX_QUERIES,
    ROLES,
    BatchQuery,
    BatchState,
    LineResult,
    Reply,
    Role,
    Stage,
    collect,
    custom_id,
    read_results,
    request_line,
)
from replyloop.models.llm import JudgeScores
from replyloop.ports import BatchApi, Redactor, Registry, StressLog
from replyloop.services.evaluation import resolve_version
from replyloop.settings import LlmSettings

KEPT_ERRORS = 50  # failed cases listed on the run (all are counted)
FIND_SLACK_SECONDS = 300  # clock skew between us and the Batch API when looking for this run's batches


@dataclass(frozen=True, slots=True)
class BatchDeps:
    log: StressLog
    registry: Registry
    settings: LlmSettings
    batches: BatchApi
    now: datetime
    # Request files stay with the batch provider after the batch: what they carry is redacted first.
    redactor: Redactor


def _redacted(queries: Sequence[BatchQuery], redactor: Redactor) -> list[BatchQuery]:
    """The queries as the provider's request files carry them: personal data out of the message and the reference
    reply (names found in the message out of the reply too). Results are logged against the stored originals."""
    redacted = []
    for query in queries:
        message = redactor(query.message)
        reference = query.reference_reply
        if reference is not None:
            reference = redactor(reference, known_names=message.names).text
        redacted.append(replace(query, message=message.text, reference_reply=reference))
    return redacted


def add_queries(log: StressLog, run_id: str, queries: Sequence[BatchQuery]) -> None:
    run = log.get_run(run_id)
    _require_batch(run)
    if run.stage is not Stage.COLLECTING:
        stage = run.stage.value if run.stage else None
        raise ConflictError(f"Stress test {run_id!r} was already submitted ({stage}); start a new run.")
    log.add_queries(run_id, list(queries))


def poll(deps: BatchDeps, run_id: str) -> BatchProgress:
    """Move the run on as far as the Batch API allows, once; safe to call again at any time."""
    run = deps.log.get_run(run_id)
    _require_batch(run)
    stage = run.stage
    if stage is Stage.COLLECTING:
        return _submit_drafts(deps, run)
    if stage is Stage.DRAFTING:
        return _after_drafts(deps, run)
    if stage is Stage.JUDGING:
        return _after_judging(deps, run)
    if stage is Stage.FINISHED:
        return BatchProgress(run, summary=summarise(deps.log.cases(run_id)))
    return BatchProgress(run)


def _require_batch(run: StressRun) -> None:
    if not run.is_batch:
        raise ConflictError(f"Stress test {run.run_id!r} is a live run: send its queries to /cases.")


# -- request lines ------------------------------------------------------------------------------------


def draft_lines(deps: BatchDeps, run: StressRun, queries: Sequence[BatchQuery]) -> Iterator[str]:
    """Both versions' draft requests per query, built exactly as the live path drafts."""
    setups = {role: resolve_version(deps.registry, getattr(run, role)) for role in ROLES}
    for query in queries:
        for role in ROLES:
            version, prompt = setups[role]
            body = chat_body(
                build_draft_messages(prompt, query.message),
                model=version.model,
                temperature=0.0,
                logprobs=False,
                max_tokens=deps.settings.max_reply_tokens,
            )
            yield request_line(custom_id("draft", role, query.case_id), body)


StructuredBody = Callable[..., dict[str, Any]]  # BatchApi.structured_body


def judge_lines(
    settings: LlmSettings,
    queries: Sequence[BatchQuery],
    drafts: Mapping[str, Mapping[Role, Reply]],
    structured_body: StructuredBody,
) -> Iterator[str]:
    """One judgement per drafted reply, on the live path's rubric and structured output."""
    for query in queries:
        pair = drafts.get(query.case_id)
        if pair is None:
            continue
        for role in ROLES:
            body = structured_body(
                judge_messages(query.message, pair[role].text, query.reference_reply),
                model=settings.draft_model,
                output=JudgeScores,
            )
            yield request_line(custom_id("judge", role, query.case_id), body)


def build_cases(
    settings: LlmSettings,
    run: StressRun,
    queries: Sequence[BatchQuery],
    drafts: Mapping[str, Mapping[Role, Reply]],
    judgements: Mapping[str, Mapping[Role, Reply]],
) -> tuple[list[CaseResult], dict[str, str]]:
    """Each query with both drafts and both judgements, as the live path logs it (cost at batch prices)."""
    cases: list[CaseResult] = []
    errors: dict[str, str] = {}
    for query in queries:
        if query.case_id not in judgements or query.case_id not in drafts:
            continue
        scores: dict[Role, JudgeScores] = {}
        for role in ROLES:
            try:
                scores[role] = JudgeScores.model_validate_json(judgements[query.case_id][role].text)
            except ValidationError as error:
                first = error.errors()[0]
                errors.setdefault(query.case_id, f"judge by the {role}: not valid JudgeScores ({first['msg']})")
        if query.case_id in errors:
            continue
        replies = [*drafts[query.case_id].values(), *judgements[query.case_id].values()]
        cases.append(
            CaseResult(
                case_id=query.case_id,
                interaction_id=query.interaction_id,
                message=query.message,
                baseline_reply=drafts[query.case_id]["baseline"].text,
                candidate_reply=drafts[query.case_id]["candidate"].text,
                baseline_score=scores["baseline"].overall,
                candidate_score=scores["candidate"].overall,
                comments=f"{run.baseline}: {scores['baseline'].comments} | "
                f"{run.candidate}: {scores['candidate'].comments}",
                tokens=sum(r.prompt_tokens + r.completion_tokens for r in replies),
                cost_usd=BATCH_PRICE_FACTOR
                * sum(settings.cost_usd(r.model, r.prompt_tokens, r.completion_tokens) for r in replies),
            )
        )
    return cases, errors


# -- steps --------------------------------------------------------------------------------------------


def _ensure_batch(deps: BatchDeps, run: StressRun, stage: Stage, lines: Iterator[str]) -> BatchState:
    """The batch this run made for `stage`, or a new one (a retried poll must not make a second)."""
    metadata = {"replyloop_stress_test": run.run_id, "replyloop_stage": stage.value}
    since = int(parse_timestamp(run.created_at).timestamp()) - FIND_SLACK_SECONDS
    found = deps.batches.find(metadata, since)
    if found is not None:
        return found
    return deps.batches.submit(f"stress-{run.run_id}-{stage.value}.jsonl", lines, metadata)


def _moved(
    deps: BatchDeps, run: StressRun, expected: Stage, stage: Stage, state: BatchState, change: StageChange
) -> BatchProgress:
    if deps.log.advance_stage(run.run_id, expected, stage, change):
        return BatchProgress(deps.log.get_run(run.run_id), state)
    # Another poll moved the run first; if it made its own batch, ours is surplus.
    current = deps.log.get_run(run.run_id)
    if state.batch_id not in (current.drafts_batch_id, current.judge_batch_id) and state.running:
        deps.batches.cancel(state.batch_id)
    return BatchProgress(current)


def _fail(deps: BatchDeps, run: StressRun, expected: Stage, reason: str, state: BatchState) -> BatchProgress:
    change = StageChange(status="failed", reason=reason, finished_at=format_timestamp(deps.now))
    deps.log.advance_stage(run.run_id, expected, Stage.FAILED, change)
    return BatchProgress(deps.log.get_run(run.run_id), state)


def _results(deps: BatchDeps, state: BatchState) -> dict[str, LineResult]:
    """Output and error file lines by custom_id (a successful line wins over an error for the same id)."""
    errors = read_results(deps.batches.lines(state.error_file_id)) if state.error_file_id else {}
    output = read_results(deps.batches.lines(state.output_file_id)) if state.output_file_id else {}
    return {**errors, **output}


def _missing(state: BatchState) -> str:
    if state.status == "expired":
        return "the batch expired (24 h) before this request ran"
    return "the batch returned no result for this request"


def _submit_drafts(deps: BatchDeps, run: StressRun) -> BatchProgress:
    queries = deps.log.queries(run.run_id)
    if not queries:
        raise InvalidRequestError("The run has no queries yet: add them with POST /api/stress-tests/{runId}/queries.")
    if len(queries) > MAX_QUERIES:
        raise InvalidRequestError(f"A batch run takes at most {MAX_QUERIES} queries; it has {len(queries)}.")
    state = _ensure_batch(deps, run, Stage.DRAFTING, draft_lines(deps, run, _redacted(queries, deps.redactor)))
    change = StageChange(drafts_batch_id=state.batch_id, queries=len(queries))
    return _moved(deps, run, Stage.COLLECTING, Stage.DRAFTING, state, change)


def _after_drafts(deps: BatchDeps, run: StressRun) -> BatchProgress:
    state = deps.batches.retrieve(str(run.drafts_batch_id))
    if state.running:
        return BatchProgress(run, state)
    problem = state.problem()
    if problem:
        return _fail(deps, run, Stage.DRAFTING, f"Drafting: {problem}", state)
    queries = deps.log.queries(run.run_id)
    drafts, errors = collect("draft", [q.case_id for q in queries], _results(deps, state), _missing(state))
    if not drafts:
        first = next(iter(errors.values()), "no results")
        return _fail(deps, run, Stage.DRAFTING, f"No query got both drafts ({first}).", state)
    lines = judge_lines(deps.settings, _redacted(queries, deps.redactor), drafts, deps.batches.structured_body)
    judging = _ensure_batch(deps, run, Stage.JUDGING, lines)
    return _moved(deps, run, Stage.DRAFTING, Stage.JUDGING, judging, StageChange(judge_batch_id=judging.batch_id))


def _after_judging(deps: BatchDeps, run: StressRun) -> BatchProgress:
    state = deps.batches.retrieve(str(run.judge_batch_id))
    if state.running:
        return BatchProgress(run, state)
    problem = state.problem()
    if problem:
        return _fail(deps, run, Stage.JUDGING, f"Judging: {problem}", state)
    queries = deps.log.queries(run.run_id)
    drafted = deps.batches.retrieve(str(run.drafts_batch_id))
    drafts, draft_errors = collect("draft", [q.case_id for q in queries], _results(deps, drafted), _missing(drafted))
    judgements, judge_errors = collect("judge", list(drafts), _results(deps, state), _missing(state))
    cases, score_errors = build_cases(deps.settings, run, queries, drafts, judgements)
    errors = {**draft_errors, **judge_errors, **score_errors}
    if not cases:
        first = next(iter(errors.values()), "no results")
        return _fail(deps, run, Stage.JUDGING, f"No query was judged ({first}).", state)
    deps.log.save_cases(run.run_id, cases)
    summary = summarise(cases)
    duration = max(0.0, (deps.now - parse_timestamp(run.created_at)).total_seconds())
    change = StageChange(
        status="finished",
        finished_at=format_timestamp(deps.now),
        summary=RunSummary.of(summary, round(duration, 3)),
        failed_cases=len(errors),
        batch_errors=tuple(CaseError(case, text[:300]) for case, text in sorted(errors.items())[:KEPT_ERRORS]),
    )
    deps.log.advance_stage(run.run_id, Stage.JUDGING, Stage.FINISHED, change)
    return BatchProgress(deps.log.get_run(run.run_id), state, summary)
