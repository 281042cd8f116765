"""Dead-lettering a job at once: a job that can never succeed goes to its queue's DLQ with the reason.

SQS alone moves a message to the DLQ only after maxReceiveCount receives - right for a model outage,
wasteful for a job that fails the same way every time (a malformed body, a refusal). The worker sends
such a message to the DLQ itself, with the reason as a message attribute (`replyloop dlq show` prints
it), and then reports the record as processed so SQS deletes the original.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from replyloop.domain.errors import StorageError

REASON_ATTRIBUTE = "DeadLetterReason"
SOURCE_ATTRIBUTE = "DeadLetterSourceQueue"
MESSAGE_ID_ATTRIBUTE = "DeadLetterMessageId"
MAX_REASON_CHARS = 1000


def queue_name(url_or_arn: str) -> str:
    """The queue's name: the last part of its URL (`.../name`) or ARN (`...:name`)."""
    return url_or_arn.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


class SqsDeadLetters:
    """`dlq_urls`: each source queue's DLQ URL, keyed by the source queue's name."""

    def __init__(self, dlq_urls: Mapping[str, str], client: Any | None = None) -> None:
        self._urls = dict(dlq_urls)
        self._client = client or boto3.client("sqs")

    def knows(self, source_arn: str) -> bool:
        return queue_name(source_arn) in self._urls

    def send(self, source_arn: str, body: str, reason: str, *, message_id: str) -> None:
        """The message, as received, to the DLQ of the queue it came from; raises StorageError if SQS fails."""
        source = queue_name(source_arn)
        attributes = {
            REASON_ATTRIBUTE: reason[:MAX_REASON_CHARS] or "unknown",
            SOURCE_ATTRIBUTE: source,
            MESSAGE_ID_ATTRIBUTE: message_id,
        }
        try:
            self._client.send_message(
                QueueUrl=self._urls[source],
                MessageBody=body,
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"Could not dead-letter the message from {source}; it will be retried.") from error
