"""Stress-test runs and their per-query log (the seeds' ai_stress_test_log) in the data table."""

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
from replyloop.domain.errors import NotFoundError, StorageError
from replyloop.domain.stress import CaseResult, StressSummary

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

    def _run(self, operation: Any, **kwargs: Any) -> Any:
        try:
            return operation(**kwargs)
        except (ClientError, BotoCoreError) as error:
            raise StorageError("The data store could not answer") from error

    def create_run(self, run_id: str, baseline: str, candidate: str, source: str, planned: int, now: datetime) -> None:
        created = format_timestamp(now)
        self._run(
            self._table.put_item,
            Item={
                "pk": _run_pk(run_id),
                "sk": "RUN",
                "runId": run_id,
                "baseline": baseline,
                "candidate": candidate,
                "source": source,
                "planned": planned,
                "status": "running",
                "createdAt": created,
                "gsi1pk": RUNS,
                "gsisk": f"{created}#{run_id}",
            },
        )

    def get_run(self, run_id: str) -> dict[str, Any]:
        item = self._run(self._table.get_item, Key={"pk": _run_pk(run_id), "sk": "RUN"}).get("Item")
        if not item:
            raise NotFoundError(f"No stress test {run_id!r}.")
        return {key: _plain(value) for key, value in item.items() if key not in ("pk", "sk", "gsi1pk", "gsisk")}

    def save_case(self, run_id: str, result: CaseResult) -> None:
        """Log one query's result; the caller has already read the run (it needs its versions)."""
        self._run(self._table.put_item, Item=case_item(run_id, result))

    def cases(self, run_id: str) -> list[CaseResult]:
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_run_pk(run_id)) & Key("sk").begins_with("CASE#")
        }
        found: list[CaseResult] = []
        while True:
            response = self._run(self._table.query, **kwargs)
            found.extend(case_from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return found
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def complete_run(self, run_id: str, summary: StressSummary, duration_seconds: float, now: datetime) -> None:
        """Store the summary; NotFoundError when there is no such run."""
        stored = {
            **{key: value for key, value in asdict(summary).items() if key != "worst_regressions"},
            "worst_regressions": [result.case_id for result in summary.worst_regressions],
            "loss_share": summary.loss_share,
            "duration_seconds": duration_seconds,
        }
        try:
            self._update_summary(run_id, stored, now)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise NotFoundError(f"No stress test {run_id!r}.") from error
            raise StorageError("The data store could not answer") from error

    def _update_summary(self, run_id: str, stored: dict[str, Any], now: datetime) -> None:
        self._table.update_item(
            Key={"pk": _run_pk(run_id), "sk": "RUN"},
            UpdateExpression="SET #status = :done, finishedAt = :now, summary = :summary",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":done": "finished",
                ":now": format_timestamp(now),
                ":summary": _to_dynamo(stored),
            },
        )

    def list_runs(self, limit: int) -> list[dict[str, Any]]:
        response = self._run(
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
