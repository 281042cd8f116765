"""DynamoDB implementation of the `Store` port. Keys and patterns: docs/data-model.md."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from replyloop.adapters.items import (
    COUNTER_ATTRIBUTES,
    FLOAT_COUNTERS,
    INDEX_SORT_KEY,
    OUTBOX,
    REPLAY_INDEXES,
    decode_cursor,
    encode_cursor,
    feedback_from_item,
    feedback_item,
    index_sort_key,
    interaction_from_item,
    interaction_item,
    job_from_outbox,
    outbox_item,
    stats_pk,
    verdict_item,
)
from replyloop.adapters.keys import (
    INTERACTION_PREFIX,
    VERDICT_SK_PREFIX,
    counter_shard,
    day_of_sk,
    day_range_sks,
    format_timestamp,
    interaction_pk,
    shard_day_sk,
)
from replyloop.adapters.learning_items import (
    categories_of,
    explanation_from_item,
    improvement_from_item,
    why_from_item,
)
from replyloop.adapters.storage import ConditionFailed
from replyloop.adapters.table import DynamoTable
from replyloop.adapters.training_reviews import examples_partition, review_from_item
from replyloop.domain.analytics import interaction_counters
from replyloop.domain.entities import (
    DailyStats,
    Interaction,
    InteractionRecord,
    Page,
    ReplayRow,
    TrainingExample,
    TrainingPrompt,
    Verdict,
)
from replyloop.domain.feedback import FeedbackChange, verdict_history
from replyloop.domain.learning import Job
from replyloop.ports import CaptureWrite, ConcurrentChangeError, ReplayQuery, WriteConflictError


class DynamoStore(DynamoTable):
    """Interactions, verdicts, counters, the review queue and the outbox."""

    def get_record(self, interaction_id: str) -> InteractionRecord | None:
        items = self._query(KeyConditionExpression=Key("pk").eq(interaction_pk(interaction_id)))
        by_sk = {item["sk"]: item for item in items}
        if "INTERACTION" not in by_sk:
            return None
        prompt = by_sk.get("TRAINING_PROMPT")
        example = by_sk.get("TRAINING_EXAMPLE")
        feedback = feedback_from_item(by_sk["FEEDBACK"]) if "FEEDBACK" in by_sk else None
        entries = [feedback_from_item(item) for sk, item in by_sk.items() if sk.startswith(VERDICT_SK_PREFIX)]
        return InteractionRecord(
            interaction=interaction_from_item(by_sk["INTERACTION"]),
            feedback=feedback,
            history=verdict_history(entries, feedback),
            training_prompt=TrainingPrompt(interaction_id, prompt["prompt"], int(prompt["rating"])) if prompt else None,
            training_example=TrainingExample(interaction_id, example["prompt"], example["completion"])
            if example
            else None,
            explanation=explanation_from_item(by_sk["EXPLANATION"]) if "EXPLANATION" in by_sk else None,
            why=why_from_item(by_sk["WHY"]) if "WHY" in by_sk else None,
            improvement=improvement_from_item(by_sk["IMPROVEMENT"]) if "IMPROVEMENT" in by_sk else None,
            review=review_from_item(by_sk["REVIEW"]) if "REVIEW" in by_sk else None,
        )

    def list_replay(self, query: ReplayQuery) -> Page:
        index, partition_attr = REPLAY_INDEXES[(query.verdict is not None, query.assistant_version is not None)]
        partition = "FEEDBACK"
        if query.assistant_version is not None:
            partition += f"#V#{query.assistant_version}"
        if query.verdict is not None:
            partition += f"#{query.verdict.value}"
        condition: Any = Key(partition_attr).eq(partition)
        if query.start or query.end:
            low = query.start.isoformat() if query.start else "0"
            high = f"{query.end.isoformat()}~" if query.end else "~"
            condition = condition & Key(INDEX_SORT_KEY).between(low, high)
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ScanIndexForward": query.order == "oldest",
            "Limit": query.limit,
        }
        if query.cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(query.cursor, {partition_attr: partition})
        response = self._call(self._table.query, **kwargs)
        rows = [self._replay_row(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return Page(rows=rows, next_cursor=encode_cursor(last) if last else None)

    def daily_stats(self, assistant_version: str | None, start: date, end: date) -> list[DailyStats]:
        """One query for the range; a day's shards (and any unsharded item of old) are summed, exactly."""
        low, high = day_range_sks(start, end)
        items = self._query(
            KeyConditionExpression=Key("pk").eq(stats_pk(assistant_version)) & Key("sk").between(low, high)
        )
        sums: dict[date, dict[str, Decimal]] = {}
        for item in items:
            day = sums.setdefault(day_of_sk(str(item["sk"])), {})
            for name, attribute in COUNTER_ATTRIBUTES.items():
                day[name] = day.get(name, Decimal(0)) + Decimal(item.get(attribute, 0))
        return [DailyStats(day=day, **self._counters(counters)) for day, counters in sorted(sums.items())]

    @staticmethod
    def _counters(sums: Mapping[str, Decimal]) -> dict[str, Any]:
        return {name: (float if name in FLOAT_COUNTERS else int)(value) for name, value in sums.items()}

    def latest_not_useful(self, assistant_version: str | None, start: date, end: date, limit: int) -> list[ReplayRow]:
        page = self.list_replay(
            ReplayQuery(
                verdict=Verdict.NOT_USEFUL,
                assistant_version=assistant_version,
                start=start,
                end=end,
                limit=limit,
            )
        )
        return page.rows

    def failure_categories(self, topic: str, limit: int) -> list[str]:
        """The categories this topic's replies failed on most (counted by the explain worker)."""
        item = self._call(self._table.get_item, Key={"pk": "CATEGORIES", "sk": f"TOPIC#{topic}"}).get("Item")
        ranked = sorted(categories_of(item or {}).items(), key=lambda pair: (-pair[1], pair[0]))
        return [name for name, _ in ranked[:limit]]

    def category_days(self, assistant_version: str | None, start: date, end: date) -> dict[date, dict[str, int]]:
        """Failure categories per day (the interaction's day), all versions or one; a day's items are summed."""
        partition = "CATSTATS#ALL" if assistant_version is None else f"CATSTATS#VERSION#{assistant_version}"
        low, high = day_range_sks(start, end)
        items = self._query(KeyConditionExpression=Key("pk").eq(partition) & Key("sk").between(low, high))
        days: dict[date, dict[str, int]] = {}
        for item in items:
            counts = days.setdefault(day_of_sk(str(item["sk"])), {})
            for name, count in categories_of(item).items():
                counts[name] = counts.get(name, 0) + count
        return days

    def review_queue(self, limit: int, cursor: str | None) -> tuple[list[Interaction], str | None]:
        """Snoozed drafts still waiting for a verdict, oldest first."""
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq("REVIEW"),
            "ScanIndexForward": True,
            "Limit": limit,
        }
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(cursor, {"gsi1pk": "REVIEW"})
        response = self._call(self._table.query, **kwargs)
        last = response.get("LastEvaluatedKey")
        items = [interaction_from_item(item) for item in response.get("Items", [])]
        return items, (encode_cursor(last) if last else None)

    def pending_jobs(self, older_than: datetime, limit: int) -> list[Job]:
        """Outbox entries not confirmed sent by `older_than`. Sent jobs are deleted, so the partition stays small."""
        return self._query_until(
            limit,
            job_from_outbox,
            KeyConditionExpression=Key("pk").eq(OUTBOX),
            FilterExpression=Attr("queuedAt").lt(format_timestamp(older_than)),
        )

    def job_sent(self, job: Job) -> None:
        """The job reached its queue: drop it from the outbox."""
        self._call(self._table.delete_item, Key={"pk": OUTBOX, "sk": job.key})

    def save_capture(self, write: CaptureWrite) -> None:
        """Everything one capture changes, in one transaction (docs/data-model.md, patterns 2-4)."""
        interaction = write.interaction
        change = write.feedback
        items = self._interaction_items(write)
        counters: dict[str, float] = interaction_counters(interaction) if write.is_new_interaction else {}
        if change is not None and not change.unchanged:
            items.extend(self._feedback_items(interaction, change))
            if change.explain_job is not None:
                items.append(
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": outbox_item(change.explain_job, now=change.feedback.submitted_at),
                        }
                    }
                )
            for name, delta in change.counter_deltas.items():
                counters[name] = counters.get(name, 0) + delta
        counters = {name: delta for name, delta in counters.items() if delta}
        if counters:
            sk = shard_day_sk(interaction.day, counter_shard(interaction.interaction_id))
            for version in (None, interaction.assistant_version):
                items.append(self._counter_update(version, sk, interaction.day, counters))
        if not items:
            return
        self._expire(items, interaction.created_at, prefixes=(INTERACTION_PREFIX,))
        try:
            self._transact(items)
        except ConditionFailed as error:
            if error.conflict_only:  # another transaction held an item (a counter shard); nothing was written
                raise WriteConflictError(interaction.interaction_id) from error
            raise ConcurrentChangeError(interaction.interaction_id) from error  # the verdict changed since it was read

    def _interaction_items(self, write: CaptureWrite) -> list[dict[str, Any]]:
        """The interaction's own item: put when new; taken off the review queue by its first verdict."""
        interaction, change = write.interaction, write.feedback
        if write.is_new_interaction:
            item = interaction_item(interaction)
            if interaction.snoozed and change is None:
                # On the review queue until someone gives a verdict (sparse index gsi1, oldest first).
                item.update({"gsi1pk": "REVIEW", INDEX_SORT_KEY: index_sort_key(interaction)})
            return [
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            ]
        if change is None or change.unchanged:
            return []
        key = {"pk": interaction_pk(interaction.interaction_id), "sk": "INTERACTION"}
        # A verdict is written only while its interaction exists: the writer may have planned it from a copy
        # kept in memory (`RecentInteractions`), and an erasure or the retention may have deleted it since.
        exists = "attribute_exists(pk)"
        if interaction.snoozed and change.previous_revision is None:
            return [
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": key,
                        "UpdateExpression": "REMOVE gsi1pk SET reviewedAt = :now",
                        "ConditionExpression": exists,
                        "ExpressionAttributeValues": {":now": format_timestamp(change.feedback.submitted_at)},
                    }
                }
            ]
        return [{"ConditionCheck": {"TableName": self.table_name, "Key": key, "ConditionExpression": exists}}]

    def _feedback_items(self, interaction: Interaction, change: FeedbackChange) -> list[dict[str, Any]]:
        pk = interaction_pk(interaction.interaction_id)
        put_feedback: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": feedback_item(interaction, change.feedback),
        }
        if change.previous_revision is None:
            put_feedback["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put_feedback["ConditionExpression"] = "revision = :revision"
            put_feedback["ExpressionAttributeValues"] = {":revision": change.previous_revision}
        sort_key = index_sort_key(interaction)
        prompt = change.training_prompt
        items: list[dict[str, Any]] = [{"Put": put_feedback}]
        if change.history_entry is not None:
            # Append-only: a revision is written once; a resent transaction cannot add it twice.
            items.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": verdict_item(change.history_entry),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        items += [
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": {
                        "pk": pk,
                        "sk": "TRAINING_PROMPT",
                        "interactionId": interaction.interaction_id,
                        "prompt": prompt.prompt,
                        "rating": prompt.rating,
                        "assistantVersion": interaction.assistant_version,
                        "gsi1pk": "TRAINING_PROMPT",
                        INDEX_SORT_KEY: sort_key,
                    },
                }
            },
        ]
        example = change.training_example
        if example is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": {
                            "pk": pk,
                            "sk": "TRAINING_EXAMPLE",
                            "interactionId": interaction.interaction_id,
                            "prompt": example.prompt,
                            "completion": example.completion,
                            "assistantVersion": interaction.assistant_version,
                            "topic": interaction.topic,
                            "submittedBy": change.feedback.submitted_by,
                            "revision": change.feedback.revision,
                            # A new verdict needs a new review, unless its author is a reviewer.
                            "gsi1pk": examples_partition("approved" if change.feedback.by_reviewer else "pending"),
                            INDEX_SORT_KEY: sort_key,
                        },
                    }
                }
            )
        elif change.previous_revision is not None:
            items.append({"Delete": {"TableName": self.table_name, "Key": {"pk": pk, "sk": "TRAINING_EXAMPLE"}}})
        return items

    def _counter_update(self, version: str | None, sk: str, day: date, counters: dict[str, float]) -> dict[str, Any]:
        names = {f"#{name}": COUNTER_ATTRIBUTES[name] for name in counters}
        values: dict[str, Any] = {
            f":{name}": Decimal(str(round(delta, 8))) if name in FLOAT_COUNTERS else int(delta)
            for name, delta in counters.items()
        }
        values[":day"] = day.isoformat()
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {"pk": stats_pk(version), "sk": sk},
                "UpdateExpression": "SET #day = :day ADD " + ", ".join(f"#{n} :{n}" for n in counters),
                "ExpressionAttributeNames": {**names, "#day": "day"},
                "ExpressionAttributeValues": values,
            }
        }

    def _replay_row(self, item: Mapping[str, Any]) -> ReplayRow:
        return ReplayRow(interaction=interaction_from_item(item), feedback=feedback_from_item(item))
