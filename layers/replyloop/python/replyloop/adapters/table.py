"""The base of every DynamoDB adapter: the one table, its client, and calls through the one error mapping."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import boto3

from replyloop.adapters.storage import store_call


class DynamoTable:
    """The data table through boto3's resource API (plain Python values in and out)."""

    def __init__(self, table_name: str, resource: Any | None = None, *, retention_days: int = 0) -> None:
        self._resource = resource or boto3.resource("dynamodb")
        self._table = self._resource.Table(table_name)
        self._client: Any = self._resource.meta.client
        self.table_name = table_name
        self.retention_days = retention_days

    def _expire(self, items: list[dict[str, Any]], start: datetime, *, prefixes: tuple[str, ...]) -> None:
        """With a retention (`RETENTION_DAYS`), stamp `expiresAt` = `start` + retention on each item put (plain, or
        a transaction's `Put`) whose `pk` starts with one of `prefixes`: customer text, never counters."""
        if not self.retention_days:
            return
        stamp = int((start + timedelta(days=self.retention_days)).timestamp())
        for entry in items:
            item = entry["Put"]["Item"] if "Put" in entry else entry if "pk" in entry else None
            if item is not None and str(item["pk"]).startswith(prefixes):
                item["expiresAt"] = stamp

    @staticmethod
    def _call(operation: Any, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = store_call(operation, **kwargs)
        return result

    def _query(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Every item the query matches, page after page."""
        items: list[dict[str, Any]] = []
        while True:
            response = self._call(self._table.query, **kwargs)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _query_until(self, limit: int, convert: Any, **kwargs: Any) -> list[Any]:
        """At least `limit` converted items (a filtered query may need several pages), cut to `limit`."""
        found: list[Any] = []
        while len(found) < limit:
            response = self._call(self._table.query, **kwargs)
            found.extend(convert(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found[:limit]

    def _transact(self, items: list[dict[str, Any]]) -> None:
        store_call(self._client.transact_write_items, TransactItems=items)
