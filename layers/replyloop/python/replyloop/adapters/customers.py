"""One customer's data in the data table, for erasure (the `CustomerData` port), and the erasure records.

- The interactions: the sparse `customer` index (`customerKey = CUSTOMER#<customerId>`, on interaction
  items recorded with a customer id), keys only.
- Everything about one interaction shares its partition (`INTERACTION#<id>`), so one query finds it all; the
  interaction item goes last, so an erasure cut short is found again by the index and finished by a retry.
  Its outbox entries (`OUTBOX` / `<id>#<step>#<revision>`) go too.
- Stress-test cases made from an interaction carry its id as the case id (`CASE#<id>`, and `QUERY#<id>`
  while a batch run waits): each run's are looked up by key, never scanned.
- An erasure record: `ERASURE#<id>` / `ERASURE`, listed while pending through `gsi1` (`ERASURES#pending`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from boto3.dynamodb.conditions import Key

from replyloop.adapters.items import OUTBOX
from replyloop.adapters.keys import customer_key, format_timestamp, interaction_pk, parse_timestamp
from replyloop.adapters.storage import store_errors
from replyloop.adapters.table import DynamoTable
from replyloop.domain.erasure import Erased, Erasure, ErasureStatus

CUSTOMER_INDEX = "customer"
PENDING = "ERASURES#pending"
BATCH_GET_LIMIT = 100  # keys per BatchGetItem


def erasure_item(erasure: Erasure) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": f"ERASURE#{erasure.erasure_id}",
        "sk": "ERASURE",
        "erasureId": erasure.erasure_id,
        "customerDigest": erasure.customer_digest,
        "requestedBy": erasure.requested_by,
        "requestedAt": format_timestamp(erasure.requested_at),
        "status": erasure.status.value,
        "interactions": erasure.erased.interactions,
        "items": erasure.erased.items,
        "stressCases": erasure.erased.stress_cases,
        "exportObjects": erasure.erased.export_objects,
    }
    if erasure.status is ErasureStatus.PENDING:
        item.update(
            {
                "customerId": erasure.customer_id,
                "gsi1pk": PENDING,
                "gsisk": f"{item['requestedAt']}#{erasure.erasure_id}",
            }
        )
    if erasure.finished_at is not None:
        item["finishedAt"] = format_timestamp(erasure.finished_at)
    return item


def erasure_from_item(item: Mapping[str, Any]) -> Erasure:
    finished = item.get("finishedAt")
    return Erasure(
        erasure_id=str(item["erasureId"]),
        customer_digest=str(item["customerDigest"]),
        requested_by=str(item["requestedBy"]),
        requested_at=parse_timestamp(str(item["requestedAt"])),
        status=ErasureStatus(str(item["status"])),
        customer_id=item.get("customerId"),
        erased=Erased(
            int(item.get("interactions", 0)),
            int(item.get("items", 0)),
            int(item.get("stressCases", 0)),
            int(item.get("exportObjects", 0)),
        ),
        finished_at=parse_timestamp(str(finished)) if finished else None,
    )


def _chunks(keys: list[dict[str, str]], size: int) -> Iterator[list[dict[str, str]]]:
    for start in range(0, len(keys), size):
        yield keys[start : start + size]


class DynamoCustomerData(DynamoTable):
    def interactions_of(self, customer_id: str) -> list[str]:
        items = self._query(
            IndexName=CUSTOMER_INDEX, KeyConditionExpression=Key("customerKey").eq(customer_key(customer_id))
        )
        # A verdict's item copies its interaction's attributes, so one interaction may be listed twice.
        return list(dict.fromkeys(str(item["pk"]).removeprefix("INTERACTION#") for item in items))

    def erase_interaction(self, interaction_id: str) -> int:
        keys = [
            {"pk": str(item["pk"]), "sk": str(item["sk"])}
            for item in self._query(
                KeyConditionExpression=Key("pk").eq(interaction_pk(interaction_id)), ProjectionExpression="pk, sk"
            )
        ]
        keys += [
            {"pk": str(item["pk"]), "sk": str(item["sk"])}
            for item in self._query(
                KeyConditionExpression=Key("pk").eq(OUTBOX) & Key("sk").begins_with(f"{interaction_id}#"),
                ProjectionExpression="pk, sk",
            )
        ]
        own = [key for key in keys if key["sk"] == "INTERACTION"]
        self._delete([key for key in keys if key["sk"] != "INTERACTION"])
        for key in own:  # last, alone: while it exists the index still finds what is left
            self._call(self._table.delete_item, Key=key)
        return len(keys)

    def erase_stress_cases(self, interaction_ids: Collection[str]) -> int:
        if not interaction_ids:
            return 0
        runs = self._query(
            IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq("STRESSTESTS"), ProjectionExpression="pk"
        )
        wanted = [
            {"pk": str(run["pk"]), "sk": f"{kind}#{interaction_id}"}
            for run in runs
            for interaction_id in interaction_ids
            for kind in ("CASE", "QUERY")
        ]
        found = [key for chunk in _chunks(wanted, BATCH_GET_LIMIT) for key in self._existing(chunk)]
        self._delete(found)
        return sum(1 for key in found if key["sk"].startswith("CASE#"))

    def _existing(self, keys: list[dict[str, str]]) -> list[dict[str, str]]:
        request: dict[str, Any] = {self.table_name: {"Keys": keys, "ProjectionExpression": "pk, sk"}}
        found: list[dict[str, str]] = []
        while request:
            response = self._call(self._resource.batch_get_item, RequestItems=request)
            found += [
                {"pk": str(i["pk"]), "sk": str(i["sk"])} for i in response.get("Responses", {}).get(self.table_name, [])
            ]
            request = response.get("UnprocessedKeys") or {}
        return found

    def _delete(self, keys: list[dict[str, str]]) -> None:
        """The batch writer sends them 25 at a time and resends what DynamoDB left unprocessed."""
        with store_errors(), self._table.batch_writer() as batch:
            for key in keys:
                batch.delete_item(Key=key)

    def save_erasure(self, erasure: Erasure) -> None:
        self._call(self._table.put_item, Item=erasure_item(erasure))

    def get_erasure(self, erasure_id: str) -> Erasure | None:
        item = self._call(
            self._table.get_item, Key={"pk": f"ERASURE#{erasure_id}", "sk": "ERASURE"}, ConsistentRead=True
        ).get("Item")
        return erasure_from_item(item) if item else None

    def pending_erasures(self, limit: int) -> list[Erasure]:
        items = self._call(
            self._table.query, IndexName="gsi1", KeyConditionExpression=Key("gsi1pk").eq(PENDING), Limit=limit
        ).get("Items", [])
        # The index projects every attribute, but read the item itself: the index may lag a finished erasure.
        return [e for e in (self.get_erasure(str(item["erasureId"])) for item in items) if e and e.customer_id]
