"""Dead-letter queues: see what died and why, and send it back to be worked on again.

Replay first asks SQS for its native redrive (StartMessageMoveTask). Where that is not available
(moto, older regions) it copies: receive from the DLQ, send to the source queue, and only then delete
from the DLQ - a message is never deleted before its copy is safely queued. Replaying twice is
harmless: workers are idempotent on the job's business key, not on the SQS message id.

A job that can never succeed (malformed, refused by the model) is dead-lettered by its worker at once,
with the reason in the `DeadLetterReason` message attribute (`adapters/dead_letters.py`); `peek` reads
it, and the copy replay drops those attributes so a replayed job does not carry an old reason.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from replyloop.adapters.dead_letters import MESSAGE_ID_ATTRIBUTE, REASON_ATTRIBUTE, SOURCE_ATTRIBUTE

PEEK_VISIBILITY_SECONDS = 20
MOVE_VISIBILITY_SECONDS = 60
MAX_BATCH = 10


@dataclass(frozen=True)
class QueuePair:
    name: str  # explain | correct
    source_url: str
    source_arn: str
    dlq_url: str
    dlq_arn: str


@dataclass(frozen=True)
class DeadMessage:
    message_id: str
    body: str
    receive_count: int
    sent_at: int
    last_error: str | None
    reason: str | None = None  # why the worker dead-lettered it at once (None: it ran out of receives)

    @property
    def job(self) -> dict[str, Any] | None:
        try:
            parsed = json.loads(self.body)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None


def depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def peek(
    sqs: Any, dlq_url: str, limit: int, last_error: Callable[[str], str | None] = lambda _: None
) -> list[DeadMessage]:
    """Read up to `limit` dead messages without removing them (they are made visible again at once)."""
    seen: dict[str, DeadMessage] = {}
    handles: list[str] = []
    while len(seen) < limit:
        got = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=min(MAX_BATCH, limit - len(seen)),
            VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=[REASON_ATTRIBUTE],
        ).get("Messages", [])
        if not got:
            break
        for message in got:
            handles.append(message["ReceiptHandle"])
            attributes = message.get("Attributes", {})
            seen.setdefault(
                message["MessageId"],
                DeadMessage(
                    message_id=message["MessageId"],
                    body=message["Body"],
                    receive_count=int(attributes.get("ApproximateReceiveCount", 0)),
                    sent_at=int(attributes.get("SentTimestamp", 0)),
                    last_error=last_error(message["MessageId"]),
                    reason=_string_attribute(message, REASON_ATTRIBUTE),
                ),
            )
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return list(seen.values())


def _string_attribute(message: dict[str, Any], name: str) -> str | None:
    value = (message.get("MessageAttributes") or {}).get(name) or {}
    return value.get("StringValue")


def _native_move(sqs: Any, pair: QueuePair, progress: Callable[[int], None]) -> int | None:
    """StartMessageMoveTask; None when this SQS does not offer it."""
    try:
        handle = sqs.start_message_move_task(SourceArn=pair.dlq_arn, DestinationArn=pair.source_arn)["TaskHandle"]
    except (ClientError, NotImplementedError) as error:
        if isinstance(error, ClientError) and error.response["Error"]["Code"] not in (
            "UnsupportedOperation",
            "InvalidAction",
            "404",
            "500",
            "NotImplemented",
        ):
            raise
        return None
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=pair.dlq_arn, MaxResults=10)["Results"]
        task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else {})
        moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
        progress(moved)
        if task.get("Status") in ("COMPLETED", "CANCELLED", "FAILED"):
            if task.get("Status") != "COMPLETED":
                raise RuntimeError(f"The move task ended {task.get('Status')}: {task.get('FailureReason', '')}")
            return moved
        time.sleep(2)


def _copy_move(sqs: Any, pair: QueuePair, progress: Callable[[int], None]) -> int:
    moved = 0
    while True:
        got = sqs.receive_message(
            QueueUrl=pair.dlq_url,
            MaxNumberOfMessages=MAX_BATCH,
            VisibilityTimeout=MOVE_VISIBILITY_SECONDS,
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not got:
            return moved
        for message in got:
            attributes = {
                name: value
                for name, value in (message.get("MessageAttributes") or {}).items()
                if name not in (REASON_ATTRIBUTE, SOURCE_ATTRIBUTE, MESSAGE_ID_ATTRIBUTE)
            }
            sqs.send_message(
                QueueUrl=pair.source_url,
                MessageBody=message["Body"],
                **({"MessageAttributes": attributes} if attributes else {}),
            )
            # Only now that the copy is queued does the dead message go.
            sqs.delete_message(QueueUrl=pair.dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
            progress(moved)


def replay(sqs: Any, pair: QueuePair, progress: Callable[[int], None] = lambda _: None) -> tuple[int, str]:
    """Move every dead message back to its queue; returns (how many, "redrive" or "copy")."""
    moved = _native_move(sqs, pair, progress)
    if moved is not None:
        return moved, "redrive"
    return _copy_move(sqs, pair, progress), "copy"
