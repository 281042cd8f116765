"""Retrain runs in the data table: `RETRAIN#<runId>` / `RUN`, listed newest first through gsi1.

A run holds its status, its trigger and trainer, and one entry per step (`steps.<name>`: outcome,
time, details as JSON). Details are stored as JSON text, so floats need no Decimal round trip.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

from replyloop.adapters.keys import format_timestamp
from replyloop.adapters.storage import ConditionFailed, store_call
from replyloop.domain.errors import ConflictError, NotFoundError
from replyloop.domain.retrain import RunStatus

RUNS = "RETRAINRUNS"


def _pk(run_id: str) -> str:
    return f"RETRAIN#{run_id}"


def _view(item: dict[str, Any]) -> dict[str, Any]:
    steps = {name: json.loads(str(value)) for name, value in (item.get("steps") or {}).items()}
    ordered = dict(sorted(steps.items(), key=lambda entry: str(entry[1].get("at", ""))))
    return {
        "runId": item["runId"],
        "status": item["status"],
        "trigger": item.get("trigger"),
        "trainer": item.get("trainer"),
        "requestedBy": item.get("requestedBy"),
        "executionArn": item.get("executionArn"),
        "createdAt": item["createdAt"],
        "finishedAt": item.get("finishedAt"),
        "reason": item.get("reason"),
        "candidateVersion": item.get("candidateVersion"),
        "steps": ordered,
    }


class DynamoRetrainRuns:
    def __init__(self, table_name: str, resource: Any | None = None) -> None:
        self._table = (resource or boto3.resource("dynamodb")).Table(table_name)

    def create(self, run_id: str, *, trigger: str, trainer: str, requested_by: str | None, now: datetime) -> bool:
        """A new running run; False when it already exists (a retried first step)."""
        created = format_timestamp(now)
        item = {
            "pk": _pk(run_id),
            "sk": "RUN",
            "runId": run_id,
            "status": RunStatus.RUNNING.value,
            "trigger": trigger,
            "trainer": trainer,
            "createdAt": created,
            "steps": {},
            "gsi1pk": RUNS,
            "gsisk": f"{created}#{run_id}",
        }
        if requested_by:
            item["requestedBy"] = requested_by
        try:
            store_call(self._table.put_item, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ConditionFailed:
            return False
        return True

    def _raw(self, run_id: str) -> dict[str, Any]:
        item = store_call(self._table.get_item, Key={"pk": _pk(run_id), "sk": "RUN"}, ConsistentRead=True).get("Item")
        if not item:
            raise NotFoundError(f"No retrain run {run_id!r}.")
        return dict(item)

    def get(self, run_id: str) -> dict[str, Any]:
        return _view(self._raw(run_id))

    def data(self, run_id: str, name: str) -> Any:
        """A JSON value a step stored for a later one (e.g. the prompt trainer's material)."""
        value = self._raw(run_id).get(f"data_{name}")
        return json.loads(str(value)) if value is not None else None

    def save_data(self, run_id: str, name: str, value: Any) -> None:
        self._update(run_id, "SET #d = :v", {"#d": f"data_{name}"}, {":v": json.dumps(value)})

    def record_step(self, run_id: str, step: str, outcome: str, details: dict[str, Any], now: datetime) -> None:
        entry = json.dumps({"outcome": outcome, "at": format_timestamp(now), **details}, default=str)
        self._update(run_id, "SET steps.#s = :v", {"#s": step}, {":v": entry})

    def set_fields(self, run_id: str, **fields: Any) -> None:
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":f{i}": value for i, value in enumerate(fields.values())}
        update = "SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(fields)))
        self._update(run_id, update, names, values)

    def finish(self, run_id: str, status: RunStatus, reason: str, now: datetime) -> None:
        """The run's final status; a finished run is never changed again (first finish wins)."""
        try:
            store_call(
                self._table.update_item,
                Key={"pk": _pk(run_id), "sk": "RUN"},
                UpdateExpression="SET #status = :status, reason = :reason, finishedAt = :now",
                ConditionExpression="attribute_exists(pk) AND #status = :running",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":status": status.value,
                    ":reason": reason,
                    ":now": format_timestamp(now),
                    ":running": RunStatus.RUNNING.value,
                },
            )
        except ConditionFailed as error:
            current = self._raw(run_id)["status"]
            if current != status.value:
                raise ConflictError(f"Retrain run {run_id!r} already finished as {current}.") from error

    def _update(self, run_id: str, expression: str, names: dict[str, str], values: dict[str, Any]) -> None:
        try:
            store_call(
                self._table.update_item,
                Key={"pk": _pk(run_id), "sk": "RUN"},
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ConditionFailed as error:
            raise NotFoundError(f"No retrain run {run_id!r}.") from error

    def list(self, limit: int) -> list[dict[str, Any]]:
        response = store_call(
            self._table.query,
            IndexName="gsi1",
            KeyConditionExpression=Key("gsi1pk").eq(RUNS),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_view(item) for item in response.get("Items", [])]


@lru_cache(maxsize=1)
def get_retrain_runs() -> DynamoRetrainRuns:
    from replyloop.settings import get_settings

    return DynamoRetrainRuns(get_settings().table_name)
