"""Stress-test runs and their per-query log (the seeds' ai_stress_test_log) in the data table.

`STRESSTEST#<runId>`: `RUN` (versions, status; a batch run also its `stage` and batch ids), `CASE#<caseId>`
(one query's result) and, for a batch run, `QUERY#<caseId>` (the queries waiting for the Batch API).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key
from botocore.exceptions import BotoCoreError, ClientError

from replyloop.adapters.keys import format_timestamp
from replyloop.adapters.storage import ConditionFailed, store_call
from replyloop.domain.errors import NotFoundError, StorageError
from replyloop.domain.stress import CaseResult, StressSummary
from replyloop.domain.stress_batch import BatchQuery, Stage

RUNS = "STRESSTESTS"


def _run_pk(run_id: str) -> str:
    return f"STRESSTEST#{run_id}"


def _number(value: float) -> Decimal:
    return Decimal(str(round(value, 6)))


def _plain(value: Any) -> Any:
    """DynamoDB numbers back to ints and floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


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


def stored_summary(summary: StressSummary, duration_seconds: float) -> dict[str, Any]:
    """The summary as the run item keeps it (regressions by case id; the cases are items of their own)."""
    return _to_dynamo(
        {
            **{key: value for key, value in asdict(summary).items() if key != "worst_regressions"},
            "worst_regressions": [result.case_id for result in summary.worst_regressions],
            "loss_share": summary.loss_share,
            "duration_seconds": duration_seconds,
        }
    )


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


class DynamoStressLog:
    def __init__(self, table_name: str, resource: Any | None = None) -> None:
        self._table = (resource or boto3.resource("dynamodb")).Table(table_name)

    def create_run(
        self,
        run_id: str,
        baseline: str,
        candidate: str,
        source: str,
        planned: int,
        now: datetime,
        *,
        batch: bool = False,
    ) -> None:
        created = format_timestamp(now)
        item = {
            "pk": _run_pk(run_id),
            "sk": "RUN",
            "runId": run_id,
            "baseline": baseline,
            "candidate": candidate,
            "source": source,
            "planned": planned,
            "status": "running",
            "mode": "batch" if batch else "live",
            "createdAt": created,
            "gsi1pk": RUNS,
            "gsisk": f"{created}#{run_id}",
        }
        if batch:
            item["stage"] = Stage.COLLECTING.value
        store_call(self._table.put_item, Item=item)

    def get_run(self, run_id: str) -> dict[str, Any]:
        item = store_call(self._table.get_item, Key={"pk": _run_pk(run_id), "sk": "RUN"}, ConsistentRead=True).get(
            "Item"
        )
        if not item:
            raise NotFoundError(f"No stress test {run_id!r}.")
        return {key: _plain(value) for key, value in item.items() if key not in ("pk", "sk", "gsi1pk", "gsisk")}

    def save_case(self, run_id: str, result: CaseResult) -> None:
        """Log one query's result; the caller has already read the run (it needs its versions)."""
        store_call(self._table.put_item, Item=case_item(run_id, result))

    def save_cases(self, run_id: str, results: list[CaseResult]) -> None:
        """Log many results (25 per request); keyed by case id, so saving again overwrites."""
        self._write_all([case_item(run_id, result) for result in results])

    def add_queries(self, run_id: str, queries: list[BatchQuery]) -> None:
        """Queries for a batch run; a case id sent again replaces its query."""
        self._write_all([query_item(run_id, query) for query in queries])

    def _write_all(self, items: list[dict[str, Any]]) -> None:
        try:
            with self._table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as writer:
                for item in items:
                    writer.put_item(Item=item)
        except (ClientError, BotoCoreError) as error:
            raise StorageError("The data store could not answer") from error

    def _under(self, run_id: str, prefix: str) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_run_pk(run_id)) & Key("sk").begins_with(prefix),
            "ConsistentRead": True,
        }
        found: list[dict[str, Any]] = []
        while True:
            response = store_call(self._table.query, **kwargs)
            found.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return found
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

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

    def complete_run(self, run_id: str, summary: StressSummary, duration_seconds: float, now: datetime) -> None:
        """Store the summary; NotFoundError when there is no such run."""
        try:
            store_call(
                self._table.update_item,
                Key={"pk": _run_pk(run_id), "sk": "RUN"},
                UpdateExpression="SET #status = :done, finishedAt = :now, summary = :summary",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":done": "finished",
                    ":now": format_timestamp(now),
                    ":summary": stored_summary(summary, duration_seconds),
                },
            )
        except ConditionFailed as error:
            raise NotFoundError(f"No stress test {run_id!r}.") from error

    def advance_stage(self, run_id: str, expected: Stage, stage: Stage, **fields: Any) -> bool:
        """Move a batch run from `expected` to `stage` and set `fields`; False when it was no longer at `expected`

        (a concurrent or retried poll got there first: nothing is written twice).
        """
        values = {"stage": stage.value, **fields}
        names = {f"#f{i}": name for i, name in enumerate(values)}
        update = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(values)))
        try:
            store_call(
                self._table.update_item,
                Key={"pk": _run_pk(run_id), "sk": "RUN"},
                UpdateExpression=update,
                ConditionExpression="#stage = :expected",
                ExpressionAttributeNames={**names, "#stage": "stage"},
                ExpressionAttributeValues={
                    **{f":f{i}": _to_dynamo(value) for i, value in enumerate(values.values())},
                    ":expected": expected.value,
                },
            )
        except ConditionFailed:
            return False
        return True

    def list_runs(self, limit: int) -> list[dict[str, Any]]:
        response = store_call(
            self._table.query,
            IndexName="gsi1",
            KeyConditionExpression=Key("gsi1pk").eq(RUNS),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [
            {key: _plain(value) for key, value in item.items() if key not in ("pk", "sk", "gsi1pk", "gsisk")}
            for item in response.get("Items", [])
        ]


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        return {str(key): _to_dynamo(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_dynamo(item) for item in value]
    return value


@lru_cache(maxsize=1)
def get_stress_log() -> DynamoStressLog:
    from replyloop.settings import get_settings

    return DynamoStressLog(get_settings().table_name)
