"""SQS pollers that behave like Lambda's event source mapping, for the local stack.

Each poller receives up to `BatchSize` messages, hands them to the function as one SQS event and
deletes what succeeded. With `ReportBatchItemFailures` only the listed messages stay; without it,
or when the function raises, the whole batch stays. What stays becomes visible again after the
queue's visibility timeout, and the queue's redrive policy moves it to the DLQ after
`maxReceiveCount` receives - the same rules as in AWS, read from the same template.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from replyloop.local.gateway import FunctionRunner
from replyloop.local.provision import QueueInfo, QueueSource

MAX_RECEIVE = 10  # SQS's own limit per ReceiveMessage call


def _message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """ReceiveMessage spells message attributes differently from the Lambda event."""
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
        for name, value in attributes.items()
    }


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": _message_attributes(message.get("MessageAttributes", {})),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class QueuePoller:
    """One event source mapping: a queue, a function, and the rules between them."""

    def __init__(
        self,
        sqs: Any,
        source: QueueSource,
        queue: QueueInfo,
        runner: FunctionRunner,
        *,
        region: str = "us-east-1",
        wait_seconds: int = 1,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.sqs = sqs
        self.source = source
        self.queue = queue
        self.runner = runner
        self.region = region
        self.wait_seconds = wait_seconds
        self.on_error = on_error or (lambda text: None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _receive_batch(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages, waiting at most MaximumBatchingWindowInSeconds to fill it.

        A message whose visibility timeout runs out while the window is still open is received again;
        it stays in the batch once, with its newest receipt handle (the only one that can delete it).
        """
        batch: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + self.source.batching_window_seconds
        while len(batch) < self.source.batch_size:
            received = self.sqs.receive_message(
                QueueUrl=self.queue.url,
                MaxNumberOfMessages=min(MAX_RECEIVE, self.source.batch_size - len(batch)),
                WaitTimeSeconds=0 if batch else self.wait_seconds,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            for message in received:
                batch[message["MessageId"]] = message
            if not batch or time.monotonic() >= deadline:
                break
            if not received:
                self._stop.wait(0.05)
        return list(batch.values())

    def poll_once(self) -> int:
        """Deliver one batch; returns how many messages were delivered (0 when the queue was empty)."""
        messages = self._receive_batch()
        if not messages:
            return 0
        event = {"Records": [sqs_record(m, self.queue.arn, self.region) for m in messages]}
        try:
            result = self.runner.invoke(self.source.function, event)
        except Exception:
            self.on_error(f"{self.source.function} failed on a batch of {len(messages)}:\n{traceback.format_exc()}")
            return len(messages)
        succeeded = self._succeeded(messages, result)
        for start in range(0, len(succeeded), MAX_RECEIVE):
            chunk = succeeded[start : start + MAX_RECEIVE]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
        return len(messages)

    def _succeeded(self, messages: list[dict[str, Any]], result: Any) -> list[dict[str, Any]]:
        if not self.source.report_batch_item_failures:
            return messages
        failures = (result or {}).get("batchItemFailures", []) if isinstance(result, dict) else []
        ids = {m["MessageId"] for m in messages}
        failed = {str(f.get("itemIdentifier") or "") for f in failures if isinstance(f, dict)}
        if failed - ids:
            # Lambda treats an unknown or empty itemIdentifier as a failure of the whole batch.
            return []
        return [m for m in messages if m["MessageId"] not in failed]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"poller-{self.queue.logical_id}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception:
                if self._stop.is_set():
                    break  # the stack is going away under the batch: nothing to report
                self.on_error(traceback.format_exc())
                self._stop.wait(1)

    def request_stop(self) -> None:
        """Stop after the current receive (at most `wait_seconds`) or batch; returns at once."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Request the stop and wait for it (default: one receive plus 5 s for a batch in flight)."""
        self.request_stop()
        self.join(self.wait_seconds + 5 if timeout is None else timeout)
