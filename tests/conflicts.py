"""Inject DynamoDB's `TransactionConflict` into a boto3 client, as real DynamoDB raises it.

Neither moto nor DynamoDB Local cancels a transaction for a concurrent one (docs/local-stack.md), so
tests answer `TransactWriteItems` themselves from a `before-call` hook, before the request reaches the
backend: botocore then raises `TransactionCanceledException` with `CancellationReasons`, exactly as
for a real response (botocore does not retry it).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from botocore.awsrequest import AWSResponse

EVENT = "before-call.dynamodb.TransactWriteItems"


def _keys(params: dict[str, Any]) -> list[tuple[str, str]]:
    """(pk, sk) of every item of the transaction, in order."""
    keys = []
    for entry in json.loads(params["body"])["TransactItems"]:
        (action,) = entry.values()
        key = action.get("Key") or action["Item"]
        keys.append((key["pk"]["S"], key["sk"]["S"]))
    return keys


def cancelled(reasons: list[str]) -> tuple[AWSResponse, dict[str, Any]]:
    """What botocore makes of DynamoDB's answer to a cancelled transaction."""
    parsed = {
        "Error": {
            "Code": "TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
            f"[{', '.join(reasons)}]",
        },
        "CancellationReasons": [
            {"Code": code, "Message": "Transaction is ongoing for the item"} if code != "None" else {"Code": code}
            for code in reasons
        ],
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    return AWSResponse("https://dynamodb.us-east-1.amazonaws.com/", 400, {}, None), parsed


class FirstConflicts:
    """The first `count` transactions that touch a `STATS#` item are cancelled by a conflict on it."""

    def __init__(self, client: Any, count: int) -> None:
        self.remaining = count
        self.cancelled = 0
        self.passed = 0
        client.meta.events.register(EVENT, self._before)

    def _before(self, params: dict[str, Any], **_: Any) -> Any:
        keys = _keys(params)
        if self.remaining and any(pk.startswith("STATS#") for pk, _ in keys):
            self.remaining -= 1
            self.cancelled += 1
            return cancelled(["TransactionConflict" if pk.startswith("STATS#") else "None" for pk, _ in keys])
        self.passed += 1
        return None


class InFlightConflicts:
    """Real DynamoDB's rule: a transaction touching an item another transaction holds is cancelled.

    Each transaction holds its items for `hold_seconds` (DynamoDB commits a transaction in about ten
    milliseconds) before it goes to the backend; one that finds any of its items held is cancelled with
    `TransactionConflict` on those items and "None" on the others. The hold does not include the
    backend's own time, so a slow or serialised backend (moto) does not inflate the conflict rate.
    """

    def __init__(self, client: Any, hold_seconds: float = 0.01) -> None:
        self.hold_seconds = hold_seconds
        self.cancelled = 0
        self.sent = 0
        self._held: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        client.meta.events.register(EVENT, self._before)

    def _before(self, params: dict[str, Any], **_: Any) -> Any:
        keys = _keys(params)
        with self._lock:
            if self._held.intersection(keys):
                self.cancelled += 1
                return cancelled(["TransactionConflict" if key in self._held else "None" for key in keys])
            self._held.update(keys)
        time.sleep(self.hold_seconds)
        with self._lock:
            self._held.difference_update(keys)
            self.sent += 1
        return None
