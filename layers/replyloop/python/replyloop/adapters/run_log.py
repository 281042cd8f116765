"""What the two run logs (retrain runs, stress tests) share: one `RUN` item per run, listed newest first.

`<PREFIX>#<runId>` / `RUN` holds the run; `gsi1pk = <LISTING>`, `gsisk = <createdAt>#<runId>` lists them.
Updates are one conditional `SET` of named fields, so a write to a run that is missing, finished or
moved on is refused by DynamoDB itself, never by a read-then-write.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key

from replyloop.adapters.storage import ConditionFailed, store_call
from replyloop.adapters.table import DynamoTable
from replyloop.domain.errors import NotFoundError

FieldPath = str | tuple[str, str]  # an attribute, or a map attribute and its key (`steps.<name>`)
HIDDEN = ("pk", "sk", "gsi1pk", "gsisk")


def to_dynamo(value: Any) -> Any:
    """Floats as Decimals (what boto3 wants), rounded to 6 places, inside maps and lists too."""
    if isinstance(value, float):
        return Decimal(str(round(value, 6)))
    if isinstance(value, Mapping):
        return {str(key): to_dynamo(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamo(item) for item in value]
    return value


def plain(value: Any) -> Any:
    """DynamoDB numbers back to ints and floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


class RunLog(DynamoTable):
    prefix: str  # the partition key's prefix
    listing: str  # gsi1's partition of this kind of run
    noun: str  # how errors name a run

    def _key(self, run_id: str) -> dict[str, str]:
        return {"pk": f"{self.prefix}#{run_id}", "sk": "RUN"}

    def _missing(self, run_id: str) -> NotFoundError:
        return NotFoundError(f"No {self.noun} {run_id!r}.")

    def _create(self, run_id: str, created_at: str, fields: Mapping[str, Any]) -> bool:
        """Put a new run; False when one with this id exists (nothing is overwritten)."""
        item = {
            **self._key(run_id),
            "runId": run_id,
            "createdAt": created_at,
            **{name: to_dynamo(value) for name, value in fields.items() if value is not None},
            "gsi1pk": self.listing,
            "gsisk": f"{created_at}#{run_id}",
        }
        try:
            store_call(self._table.put_item, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ConditionFailed:
            return False
        return True

    def _item(self, run_id: str) -> dict[str, Any]:
        """The run's attributes (plain Python numbers); NotFoundError when there is none."""
        item = store_call(self._table.get_item, Key=self._key(run_id), ConsistentRead=True).get("Item")
        if not item:
            raise self._missing(run_id)
        return {name: plain(value) for name, value in item.items() if name not in HIDDEN}

    def _update(
        self, run_id: str, fields: Mapping[FieldPath, Any], *, only_if: Mapping[str, Any] | None = None
    ) -> bool:
        """SET `fields` on an existing run whose attributes equal `only_if`; False when the condition failed."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets = []
        for index, (path, value) in enumerate(fields.items()):
            parts = (path,) if isinstance(path, str) else path
            placeholders = []
            for depth, part in enumerate(parts):
                names[f"#f{index}_{depth}"] = part
                placeholders.append(f"#f{index}_{depth}")
            values[f":f{index}"] = to_dynamo(value)
            sets.append(f"{'.'.join(placeholders)} = :f{index}")
        conditions = ["attribute_exists(pk)"]
        for index, (name, value) in enumerate((only_if or {}).items()):
            names[f"#c{index}"] = name
            values[f":c{index}"] = to_dynamo(value)
            conditions.append(f"#c{index} = :c{index}")
        try:
            store_call(
                self._table.update_item,
                Key=self._key(run_id),
                UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ConditionFailed:
            return False
        return True

    def _update_existing(self, run_id: str, fields: Mapping[FieldPath, Any]) -> None:
        if not self._update(run_id, fields):
            raise self._missing(run_id)

    def _latest(self, limit: int) -> list[dict[str, Any]]:
        response = store_call(
            self._table.query,
            IndexName="gsi1",
            KeyConditionExpression=Key("gsi1pk").eq(self.listing),
            ScanIndexForward=False,
            Limit=limit,
        )
        return [
            {name: plain(value) for name, value in item.items() if name not in HIDDEN}
            for item in response.get("Items", [])
        ]
