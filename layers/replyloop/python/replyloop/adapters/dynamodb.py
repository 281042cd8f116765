"""DynamoDB implementation of the storage port. Keys and patterns: docs/data-model.md."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import BotoCoreError, ClientError

from replyloop.adapters.keys import day_sk, format_timestamp, interaction_pk, parse_timestamp
from replyloop.adapters.learning_items import (
    LEADERBOARD,
    categories_of,
    category_attribute,
    explanation_from_item,
    explanation_item,
    improvement_from_item,
    improvement_item,
    why_from_item,
    why_item,
)
from replyloop.adapters.store import CaptureWrite, ConcurrentChangeError, ReplayQuery
from replyloop.domain.analytics import interaction_counters
from replyloop.domain.entities import (
    DailyStats,
    Explanation,
    Feedback,
    Improvement,
    Interaction,
    InteractionRecord,
    Page,
    ReplayRow,
    TrainingExample,
    TrainingPrompt,
    Verdict,
    WhyThisReply,
)
from replyloop.domain.errors import InvalidRequestError, StorageError
from replyloop.domain.feedback import FeedbackChange
from replyloop.domain.learning import Job, Step

ALL_VERSIONS = "ALL"
INDEX_SORT_KEY = "gsisk"
# Replay filters -> (index, partition attribute); see docs/data-model.md, Indexes.
REPLAY_INDEXES = {
    (False, False): ("gsi1", "gsi1pk"),
    (True, False): ("gsi2", "gsi2pk"),
    (False, True): ("gsi3", "gsi3pk"),
    (True, True): ("gsi4", "gsi4pk"),
}
# DynamoDB attribute names of the counters (camelCase like every other attribute).
COUNTER_ATTRIBUTES = {
    "interactions": "interactions",
    "total": "total",
    "useful": "useful",
    "not_useful": "notUseful",
    "overrides": "overrides",
    "snoozed": "snoozed",
    "confidence_sum": "confidenceSum",
    "confidence_count": "confidenceCount",
    "prompt_tokens": "promptTokens",
    "completion_tokens": "completionTokens",
    "cost_usd": "costUsd",
}
FLOAT_COUNTERS = {"confidence_sum", "cost_usd"}


def stats_pk(assistant_version: str | None) -> str:
    return f"STATS#{ALL_VERSIONS}" if assistant_version is None else f"STATS#VERSION#{assistant_version}"


def index_sort_key(interaction: Interaction) -> str:
    return f"{format_timestamp(interaction.created_at)}#{interaction.interaction_id}"


def _drop_none(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if value is not None}


def interaction_item(interaction: Interaction) -> dict[str, Any]:
    return _drop_none(
        {
            "pk": interaction_pk(interaction.interaction_id),
            "sk": "INTERACTION",
            "interactionId": interaction.interaction_id,
            "message": interaction.message,
            "aiReply": interaction.ai_reply,
            "assistantVersion": interaction.assistant_version,
            "createdAt": format_timestamp(interaction.created_at),
            "createdBy": interaction.created_by,
            "confidence": None if interaction.confidence is None else Decimal(str(interaction.confidence)),
            "conversationId": interaction.conversation_id,
            "topic": interaction.topic,
            "model": interaction.model,
            "promptName": interaction.prompt_name,
            "promptVersion": interaction.prompt_version,
            "snoozed": interaction.snoozed or None,
            "confidenceMethod": interaction.confidence_method,
            "promptTokens": interaction.prompt_tokens or None,
            "completionTokens": interaction.completion_tokens or None,
            "costUsd": Decimal(str(round(interaction.cost_usd, 8))) if interaction.cost_usd else None,
        }
    )


def interaction_from_item(item: Mapping[str, Any]) -> Interaction:
    confidence = item.get("confidence")
    return Interaction(
        interaction_id=str(item["interactionId"]),
        message=str(item["message"]),
        ai_reply=str(item["aiReply"]),
        assistant_version=str(item["assistantVersion"]),
        created_at=parse_timestamp(str(item["createdAt"])),
        created_by=str(item.get("createdBy", "unknown")),
        confidence=None if confidence is None else float(confidence),
        conversation_id=item.get("conversationId"),
        topic=item.get("topic"),
        model=item.get("model"),
        prompt_name=item.get("promptName"),
        prompt_version=int(item["promptVersion"]) if item.get("promptVersion") is not None else None,
        snoozed=bool(item.get("snoozed", False)),
        confidence_method=item.get("confidenceMethod"),
        prompt_tokens=int(item.get("promptTokens", 0)),
        completion_tokens=int(item.get("completionTokens", 0)),
        cost_usd=float(item.get("costUsd", 0)),
    )


def feedback_item(interaction: Interaction, feedback: Feedback) -> dict[str, Any]:
    """The feedback, with the interaction's text copied so a replay page is one query."""
    version, verdict = interaction.assistant_version, feedback.verdict.value
    base = interaction_item(interaction)
    base.update(
        {
            "sk": "FEEDBACK",
            "verdict": verdict,
            "agentReply": feedback.agent_reply,
            "submittedAt": format_timestamp(feedback.submitted_at),
            "submittedBy": feedback.submitted_by,
            "revision": feedback.revision,
            "gsi1pk": "FEEDBACK",
            "gsi2pk": f"FEEDBACK#{verdict}",
            "gsi3pk": f"FEEDBACK#V#{version}",
            "gsi4pk": f"FEEDBACK#V#{version}#{verdict}",
            INDEX_SORT_KEY: index_sort_key(interaction),
        }
    )
    return _drop_none(base)


def feedback_from_item(item: Mapping[str, Any]) -> Feedback:
    return Feedback(
        interaction_id=str(item["interactionId"]),
        verdict=Verdict(str(item["verdict"])),
        agent_reply=item.get("agentReply"),
        submitted_at=parse_timestamp(str(item["submittedAt"])),
        submitted_by=str(item.get("submittedBy", "unknown")),
        revision=int(item["revision"]),
    )


def encode_cursor(last_key: Mapping[str, Any]) -> str:
    raw = json.dumps(dict(last_key), sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected: Mapping[str, str]) -> dict[str, str]:
    """Turn a cursor back into an ExclusiveStartKey, refusing anything we did not hand out.

    `expected` maps the key attributes whose value is fixed by the query (its partition) to that value.
    """
    bad = InvalidRequestError("The cursor is not valid for this query; start again without it.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, binascii.Error) as error:
        raise bad from error
    wanted = {"pk", "sk", INDEX_SORT_KEY, *expected}
    if not isinstance(key, dict) or set(key) != wanted or not all(isinstance(v, str) for v in key.values()):
        raise bad
    if any(key[name] != value for name, value in expected.items()):
        raise bad
    return key


class DynamoStore:
    """The one table, through boto3's resource API (plain Python values in and out)."""

    def __init__(self, table_name: str, resource: Any | None = None) -> None:
        self._resource = resource or boto3.resource("dynamodb")
        self._table = self._resource.Table(table_name)
        self._client: Any = self._resource.meta.client
        self.table_name = table_name

    # -- reads ---------------------------------------------------------------------------------

    def get_record(self, interaction_id: str) -> InteractionRecord | None:
        items = self._query(KeyConditionExpression=Key("pk").eq(interaction_pk(interaction_id)))
        by_sk = {item["sk"]: item for item in items}
        if "INTERACTION" not in by_sk:
            return None
        prompt = by_sk.get("TRAINING_PROMPT")
        example = by_sk.get("TRAINING_EXAMPLE")
        return InteractionRecord(
            interaction=interaction_from_item(by_sk["INTERACTION"]),
            feedback=feedback_from_item(by_sk["FEEDBACK"]) if "FEEDBACK" in by_sk else None,
            training_prompt=TrainingPrompt(interaction_id, prompt["prompt"], int(prompt["rating"])) if prompt else None,
            training_example=TrainingExample(interaction_id, example["prompt"], example["completion"])
            if example
            else None,
            explanation=explanation_from_item(by_sk["EXPLANATION"]) if "EXPLANATION" in by_sk else None,
            why=why_from_item(by_sk["WHY"]) if "WHY" in by_sk else None,
            improvement=improvement_from_item(by_sk["IMPROVEMENT"]) if "IMPROVEMENT" in by_sk else None,
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
        items = self._query(
            KeyConditionExpression=Key("pk").eq(stats_pk(assistant_version))
            & Key("sk").between(day_sk(start), day_sk(end))
        )
        return [
            DailyStats(day=date.fromisoformat(str(item["sk"]).removeprefix("DAY#")), **self._counters(item))
            for item in items
        ]

    @staticmethod
    def _counters(item: Mapping[str, Any]) -> dict[str, Any]:
        return {
            name: (float if name in FLOAT_COUNTERS else int)(item.get(attribute, 0))
            for name, attribute in COUNTER_ATTRIBUTES.items()
        }

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

    def known_categories(self) -> list[str]:
        item = self._call(self._table.get_item, Key={"pk": "CATEGORIES", "sk": "ALL"}).get("Item")
        return sorted(categories_of(item or {}))

    def category_days(self, assistant_version: str | None, start: date, end: date) -> dict[date, dict[str, int]]:
        """Failure categories per day (the interaction's day), all versions or one."""
        partition = "CATSTATS#ALL" if assistant_version is None else f"CATSTATS#VERSION#{assistant_version}"
        items = self._query(
            KeyConditionExpression=Key("pk").eq(partition) & Key("sk").between(day_sk(start), day_sk(end))
        )
        return {date.fromisoformat(str(item["sk"]).removeprefix("DAY#")): categories_of(item) for item in items}

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
        found: list[Improvement] = []
        while len(found) < limit:
            response = self._call(self._table.query, **kwargs)
            found.extend(improvement_from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return found[:limit]

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
        return self._transact_once(items)

    def pending_jobs(self, older_than: datetime, limit: int) -> list[Job]:
        """Outbox entries not confirmed sent by `older_than`. Sent jobs are deleted, so the partition stays small."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(OUTBOX),
            "FilterExpression": Attr("queuedAt").lt(format_timestamp(older_than)),
        }
        jobs: list[Job] = []
        while len(jobs) < limit:
            response = self._call(self._table.query, **kwargs)
            jobs.extend(job_from_outbox(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return jobs[:limit]

    def job_sent(self, job: Job) -> None:
        """The job reached its queue: drop it from the outbox."""
        self._call(self._table.delete_item, Key={"pk": OUTBOX, "sk": job.key})

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

    def save_why(self, why: WhyThisReply) -> None:
        self._call(self._table.put_item, Item=why_item(why))

    def save_improvement(self, interaction: Interaction, improvement: Improvement) -> bool:
        """Store it; False when this revision (or a later one) is already there."""
        return self._transact_once(
            [
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": improvement_item(interaction, improvement),
                        "ConditionExpression": "attribute_not_exists(pk) OR revision < :revision",
                        "ExpressionAttributeValues": {":revision": improvement.revision},
                    }
                }
            ]
        )

    def _transact_once(self, items: list[dict[str, Any]]) -> bool:
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                codes = [reason.get("Code") for reason in error.response.get("CancellationReasons") or []]
                if codes and codes[0] == "ConditionalCheckFailed":
                    return False
            raise StorageError("The data store could not save the result") from error
        except BotoCoreError as error:
            raise StorageError("The data store could not save the result") from error
        return True

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

    # -- writes --------------------------------------------------------------------------------

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
            for version in (None, interaction.assistant_version):
                items.append(self._counter_update(version, interaction.day, counters))
        if not items:
            return
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                codes = {reason.get("Code") for reason in error.response.get("CancellationReasons") or []}
                if codes & {"ConditionalCheckFailed", "TransactionConflict"}:
                    raise ConcurrentChangeError(interaction.interaction_id) from error
            raise StorageError(f"Could not save interaction {interaction.interaction_id}") from error
        except BotoCoreError as error:
            raise StorageError(f"Could not save interaction {interaction.interaction_id}") from error

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
        first_verdict = change is not None and not change.unchanged and change.previous_revision is None
        if interaction.snoozed and first_verdict:
            assert change is not None
            return [
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": {"pk": interaction_pk(interaction.interaction_id), "sk": "INTERACTION"},
                        "UpdateExpression": "REMOVE gsi1pk SET reviewedAt = :now",
                        "ExpressionAttributeValues": {":now": format_timestamp(change.feedback.submitted_at)},
                    }
                }
            ]
        return []

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
        items: list[dict[str, Any]] = [
            {"Put": put_feedback},
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
                            "gsi1pk": "TRAINING_EXAMPLE",
                            INDEX_SORT_KEY: sort_key,
                        },
                    }
                }
            )
        elif change.previous_revision is not None:
            items.append({"Delete": {"TableName": self.table_name, "Key": {"pk": pk, "sk": "TRAINING_EXAMPLE"}}})
        return items

    def _counter_update(self, version: str | None, day: date, counters: dict[str, float]) -> dict[str, Any]:
        names = {f"#{name}": COUNTER_ATTRIBUTES[name] for name in counters}
        values: dict[str, Any] = {
            f":{name}": Decimal(str(round(delta, 8))) if name in FLOAT_COUNTERS else int(delta)
            for name, delta in counters.items()
        }
        values[":day"] = day.isoformat()
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {"pk": stats_pk(version), "sk": day_sk(day)},
                "UpdateExpression": "SET #day = :day ADD " + ", ".join(f"#{n} :{n}" for n in counters),
                "ExpressionAttributeNames": {**names, "#day": "day"},
                "ExpressionAttributeValues": values,
            }
        }

    # -- helpers -------------------------------------------------------------------------------

    def _replay_row(self, item: Mapping[str, Any]) -> ReplayRow:
        return ReplayRow(interaction=interaction_from_item(item), feedback=feedback_from_item(item))

    def _query(self, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            response = self._call(self._table.query, **kwargs)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    @staticmethod
    def _call(operation: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = operation(**kwargs)
        except ClientError as error:
            if error.response["Error"]["Code"] == "ValidationException" and "ExclusiveStartKey" in kwargs:
                raise InvalidRequestError("The cursor is not valid for this query; start again without it.") from error
            raise StorageError("The data store could not answer") from error
        except BotoCoreError as error:
            raise StorageError("The data store could not answer") from error
        return result


OUTBOX = "OUTBOX"


def outbox_item(job: Job, now: datetime) -> dict[str, Any]:
    """Written in the verdict's transaction: the job survives even if queueing it fails afterwards."""
    return {
        "pk": OUTBOX,
        "sk": job.key,
        "queuedAt": format_timestamp(now),
        "interactionId": job.interaction_id,
        "step": job.step.value,
        "revision": job.revision,
    }


def job_from_outbox(item: Mapping[str, Any]) -> Job:
    return Job(str(item["interactionId"]), Step(str(item["step"])), int(item["revision"]))


@lru_cache(maxsize=1)
def get_store() -> DynamoStore:
    """The store for this process, built on first use (never at import time)."""
    from replyloop.settings import get_settings

    return DynamoStore(get_settings().table_name)
