"""Stress-test runs and their per-query log (the seeds' ai_stress_test_log) in the data table.

`STRESSTEST#<runId>`: `RUN` (versions, status; a batch run also its `stage` and batch ids), `CASE#<caseId>`
(one query's result) and, for a batch run, `QUERY#<caseId>` (the queries waiting for the Batch API).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from replyloop.adapters.keys import format_timestamp
from replyloop.adapters.run_log import FieldPath, RunLog, to_dynamo
from replyloop.adapters.storage import store_call, store_errors
from replyloop.domain.runs import CaseError, NewStressRun, RunSummary, StageChange, StressRun
from replyloop.domain.stress import CaseResult
from replyloop.domain.stress_batch import BatchQuery, Stage


def _run_pk(run_id: str) -> str:
    return f"STRESSTEST#{run_id}"


def _number(value: float) -> Any:
    return to_dynamo(float(value))


def case_item(run_id: str, result: CaseResult) -> dict[str, Any]:
    item = {
        "pk": _run_pk(run_id),
        "sk": f"CASE#{result.case_id}",
        "caseId": result.case_id,
        "interactionId": result.interaction_id,
        "message": result.message,
        "baselineReply": result.baseline_reply,
        "candidateReply": result.candidate_reply,
        "baselineScore": _number(result.baseline_score),
        "candidateScore": _number(result.candidate_score),
        "evalScore": _number(result.eval_score),
        "improved": result.improved,
        "outcome": result.outcome,
        "comments": result.comments,
        "tokens": result.tokens,
        "costUsd": _number(result.cost_usd),
    }
    return {key: value for key, value in item.items() if value is not None}


def query_item(run_id: str, query: BatchQuery) -> dict[str, Any]:
    item = {
        "pk": _run_pk(run_id),
        "sk": f"QUERY#{query.case_id}",
        "caseId": query.case_id,
        "message": query.message,
        "referenceReply": query.reference_reply,
        "interactionId": query.interaction_id,
    }
    return {key: value for key, value in item.items() if value is not None}


def case_from_item(item: Mapping[str, Any]) -> CaseResult:
    return CaseResult(
        case_id=str(item["caseId"]),
        interaction_id=item.get("interactionId"),
        message=str(item["message"]),
        baseline_reply=str(item["baselineReply"]),
        candidate_reply=str(item["candidateReply"]),
        baseline_score=float(item["baselineScore"]),
        candidate_score=float(item["candidateScore"]),
        comments=str(item.get("comments", "")),
        tokens=int(item.get("tokens", 0)),
        cost_usd=float(item.get("costUsd", 0)),
    )


def summary_item(summary: RunSummary) -> dict[str, Any]:
    """The summary as the run item keeps it (the keys it has always had; the cases are items of their own)."""
    return {
        "cases": summary.cases,
        "baseline_mean": summary.baseline_mean,
        "candidate_mean": summary.candidate_mean,
        "baseline_distribution": {str(k): v for k, v in summary.baseline_distribution.items()},
        "candidate_distribution": {str(k): v for k, v in summary.candidate_distribution.items()},
        "wins": summary.wins,
        "losses": summary.losses,
        "ties": summary.ties,
        "loss_share": summary.loss_share,
        "tokens": summary.tokens,
        "cost_usd": summary.cost_usd,
        "worst_regressions": list(summary.worst_regressions),
        "duration_seconds": summary.duration_seconds,
    }


def summary_from_item(item: Mapping[str, Any]) -> RunSummary:
    def mean(name: str) -> float | None:
        value = item.get(name)
        return None if value is None else float(value)

    duration = item.get("duration_seconds")
    return RunSummary(
        cases=int(item["cases"]),
        baseline_mean=mean("baseline_mean"),
        candidate_mean=mean("candidate_mean"),
        baseline_distribution={int(k): int(v) for k, v in (item.get("baseline_distribution") or {}).items()},
        candidate_distribution={int(k): int(v) for k, v in (item.get("candidate_distribution") or {}).items()},
        wins=int(item["wins"]),
        losses=int(item["losses"]),
        ties=int(item["ties"]),
        loss_share=float(item.get("loss_share", 0)),
        tokens=int(item.get("tokens", 0)),
        cost_usd=float(item.get("cost_usd", 0)),
        worst_regressions=tuple(str(case) for case in item.get("worst_regressions") or []),
        duration_seconds=None if duration is None else float(duration),
    )


def run_from_item(item: Mapping[str, Any]) -> StressRun:
    summary = item.get("summary")
    return StressRun(
        run_id=str(item["runId"]),
        baseline=str(item["baseline"]),
        candidate=str(item["candidate"]),
        source=str(item.get("source", "")),
        planned=int(item.get("planned", 0)),
        status=item["status"],
        mode="batch" if item.get("mode") == "batch" else "live",
        created_at=str(item["createdAt"]),
        finished_at=item.get("finishedAt"),
        summary=summary_from_item(summary) if summary else None,
        stage=Stage(item["stage"]) if item.get("stage") else None,
        queries=int(item["queries"]) if item.get("queries") is not None else None,
        drafts_batch_id=item.get("draftsBatchId"),
        judge_batch_id=item.get("judgeBatchId"),
        reason=item.get("reason"),
        failed_cases=int(item.get("failedCases", 0)),
        batch_errors=tuple(CaseError(str(e["caseId"]), str(e["message"])) for e in item.get("batchErrors") or []),
    )


def change_fields(change: StageChange) -> dict[FieldPath, Any]:
    fields: dict[FieldPath, Any] = {
        "status": change.status,
        "reason": change.reason,
        "finishedAt": change.finished_at,
        "queries": change.queries,
        "draftsBatchId": change.drafts_batch_id,
        "judgeBatchId": change.judge_batch_id,
        "summary": summary_item(change.summary) if change.summary else None,
        "failedCases": change.failed_cases,
        "batchErrors": None
        if change.batch_errors is None
        else [{"caseId": error.case_id, "message": error.message} for error in change.batch_errors],
    }
    return {name: value for name, value in fields.items() if value is not None}


class DynamoStressLog(RunLog):
    prefix, listing, noun = "STRESSTEST", "STRESSTESTS", "stress test"

    def create_run(self, run: NewStressRun, now: datetime) -> StressRun:
        batch = run.mode == "batch"
        fields = {
            "baseline": run.baseline,
            "candidate": run.candidate,
            "source": run.source,
            "planned": run.planned,
            "status": "running",
            "mode": run.mode,
            "stage": Stage.COLLECTING.value if batch else None,
        }
        self._create(run.run_id, format_timestamp(now), fields)
        return self.get_run(run.run_id)

    def get_run(self, run_id: str) -> StressRun:
        return run_from_item(self._item(run_id))

    def list_runs(self, limit: int) -> list[StressRun]:
        return [run_from_item(item) for item in self._latest(limit)]

    def save_case(self, run_id: str, result: CaseResult) -> None:
        """Log one query's result; the caller has already read the run (it needs its versions)."""
        store_call(self._table.put_item, Item=case_item(run_id, result))

    def save_cases(self, run_id: str, results: Sequence[CaseResult]) -> None:
        """Log many results (25 per request); keyed by case id, so saving again overwrites."""
        self._write_all([case_item(run_id, result) for result in results])

    def add_queries(self, run_id: str, queries: Sequence[BatchQuery]) -> None:
        """Queries for a batch run; a case id sent again replaces its query."""
        self._write_all([query_item(run_id, query) for query in queries])

    def _write_all(self, items: list[dict[str, Any]]) -> None:
        # Cases and queued queries hold customer messages: they expire like the interactions they came from.
        self._expire(items, datetime.now(UTC), prefixes=("STRESSTEST#",))
        with store_errors(), self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as writer:
            for item in items:
                writer.put_item(Item=item)

    def _under(self, run_id: str, prefix: str) -> list[dict[str, Any]]:
        return self._query(
            KeyConditionExpression=Key("pk").eq(_run_pk(run_id)) & Key("sk").begins_with(prefix),
            ConsistentRead=True,
        )

    def cases(self, run_id: str) -> list[CaseResult]:
        return [case_from_item(item) for item in self._under(run_id, "CASE#")]

    def queries(self, run_id: str) -> list[BatchQuery]:
        return [
            BatchQuery(
                case_id=str(item["caseId"]),
                message=str(item["message"]),
                reference_reply=item.get("referenceReply"),
                interaction_id=item.get("interactionId"),
            )
            for item in self._under(run_id, "QUERY#")
        ]

    def complete_run(self, run_id: str, summary: RunSummary, now: datetime) -> None:
        """Store the summary; NotFoundError when there is no such run."""
        fields: dict[FieldPath, Any] = {
            "status": "finished",
            "finishedAt": format_timestamp(now),
            "summary": summary_item(summary),
        }
        self._update_existing(run_id, fields)

    def advance_stage(self, run_id: str, expected: Stage, stage: Stage, change: StageChange) -> bool:
        """Move a batch run from `expected` to `stage` and apply `change`; False when it was no longer at `expected`

        (a concurrent or retried poll got there first: nothing is written twice).
        """
        fields: dict[FieldPath, Any] = {"stage": stage.value, **change_fields(change)}
        return self._update(run_id, fields, only_if={"stage": expected.value})
