"""What the learning workers write: explanations and their category counts, "why this reply?",
improvements and the leaderboard (`LearningStore`); and each failed queue message's last error (`JobFailures`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from replyloop.adapters.dynamodb import DynamoStore
from replyloop.adapters.keys import INTERACTION_PREFIX, day_sk, format_timestamp
from replyloop.adapters.learning_items import (
    LEADERBOARD,
    categories_of,
    category_attribute,
    explanation_item,
    improvement_from_item,
    improvement_item,
    why_item,
)
from replyloop.adapters.storage import ConditionFailed
from replyloop.adapters.table import DynamoTable
from replyloop.domain.entities import Explanation, Improvement, Interaction, WhyThisReply
from replyloop.domain.errors import StorageError


class DynamoLearningStore(DynamoStore):
    """The store, plus what the workers add to an interaction."""

    def known_categories(self) -> list[str]:
        item = self._call(self._table.get_item, Key={"pk": "CATEGORIES", "sk": "ALL"}).get("Item")
        return sorted(categories_of(item or {}))

    def leaderboard(self, category: str | None, start: date | None, end: date | None, limit: int) -> list[Improvement]:
        """Kept improvements, highest score gain first; the date filter reads the gain-ordered index."""
        index, attribute, partition = ("gsi2", "gsi2pk", LEADERBOARD)
        if category:
            index, attribute, partition = ("gsi3", "gsi3pk", f"{LEADERBOARD}#{category}")
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": Key(attribute).eq(partition),
            "ScanIndexForward": False,
        }
        if start or end:
            low = start.isoformat() if start else "0"
            high = f"{end.isoformat()}~" if end else "~"
            kwargs["FilterExpression"] = Attr("createdAt").between(low, high)
        return self._query_until(limit, improvement_from_item, **kwargs)

    def save_explanation(
        self, interaction: Interaction, explanation: Explanation, previous: Explanation | None
    ) -> bool:
        """Store it and move the category counts; False when this revision (or a later one) is already there."""
        counts: dict[str, int] = {explanation.failure_category: 1}
        if previous is not None:
            counts[previous.failure_category] = counts.get(previous.failure_category, 0) - 1
        counts = {name: delta for name, delta in counts.items() if delta}
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": explanation_item(explanation),
                    "ConditionExpression": "attribute_not_exists(pk) OR revision < :revision",
                    "ExpressionAttributeValues": {":revision": explanation.revision},
                }
            }
        ]
        if counts:
            day = day_sk(interaction.day)
            keys = [
                ("CATEGORIES", "ALL"),
                ("CATEGORIES", f"TOPIC#{explanation.topic}"),
                ("CATSTATS#ALL", day),
                (f"CATSTATS#VERSION#{interaction.assistant_version}", day),
            ]
            names = {f"#c{i}": category_attribute(name) for i, name in enumerate(counts)}
            values = {f":c{i}": delta for i, delta in enumerate(counts.values())}
            update = "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counts)))
            items += [
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": {"pk": pk, "sk": sk},
                        "UpdateExpression": update,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                    }
                }
                for pk, sk in keys
            ]
        self._expire(items, interaction.created_at, prefixes=(INTERACTION_PREFIX,))
        return self._transact_once(items)

    def save_why(self, why: WhyThisReply) -> None:
        item = why_item(why)
        self._expire([item], why.created_at, prefixes=(INTERACTION_PREFIX,))
        self._call(self._table.put_item, Item=item)

    def save_improvement(self, interaction: Interaction, improvement: Improvement) -> bool:
        """Store it; False when this revision (or a later one) is already there."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": improvement_item(interaction, improvement),
                    "ConditionExpression": "attribute_not_exists(pk) OR revision < :revision",
                    "ExpressionAttributeValues": {":revision": improvement.revision},
                }
            }
        ]
        self._expire(items, interaction.created_at, prefixes=(INTERACTION_PREFIX,))
        return self._transact_once(items)

    def _transact_once(self, items: list[dict[str, Any]]) -> bool:
        """Write `items`; False when the first item's condition failed (this revision is already there)."""
        try:
            self._transact(items)
        except ConditionFailed as error:
            if error.first_item_failed:
                return False
            raise StorageError("The data store could not save the result") from error
        return True


class DynamoJobFailures(DynamoTable):
    """`JOBFAILURE#<messageId>` / `LAST`: the last error of a queue message, kept 30 days."""

    def record_job_failure(self, message_id: str, error: str, now: datetime) -> None:
        """The last error of a queue message, kept 30 days for DLQ inspection."""
        self._call(
            self._table.update_item,
            Key={"pk": f"JOBFAILURE#{message_id}", "sk": "LAST"},
            UpdateExpression="SET #error = :error, failedAt = :now, expiresAt = :expires ADD attempts :one",
            ExpressionAttributeNames={"#error": "error"},
            ExpressionAttributeValues={
                ":error": error[:2000],
                ":now": format_timestamp(now),
                ":expires": int(now.timestamp()) + 30 * 86400,
                ":one": 1,
            },
        )

    def job_failure(self, message_id: str) -> dict[str, Any] | None:
        item = self._call(self._table.get_item, Key={"pk": f"JOBFAILURE#{message_id}", "sk": "LAST"}).get("Item")
        if not item:
            return None
        return {"error": item["error"], "failedAt": item["failedAt"], "attempts": int(item["attempts"])}
