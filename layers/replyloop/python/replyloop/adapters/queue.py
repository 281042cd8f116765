"""Job queues (SQS) behind a small interface."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from replyloop.domain.errors import StorageError
from replyloop.domain.learning import Job, Step

QUEUE_URL_VARIABLES = {
    Step.EXPLAIN: "EXPLAIN_QUEUE_URL",
    Step.WHY: "EXPLAIN_QUEUE_URL",
    Step.CORRECT: "CORRECT_QUEUE_URL",
}


def job_body(job: Job) -> str:
    return json.dumps({"interactionId": job.interaction_id, "step": job.step.value, "revision": job.revision})


class JobQueue(Protocol):
    def send(self, job: Job) -> None: ...


class SqsJobQueue:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client or boto3.client("sqs")

    def send(self, job: Job) -> None:
        url = os.environ.get(QUEUE_URL_VARIABLES[job.step])
        if not url:
            raise StorageError(f"{QUEUE_URL_VARIABLES[job.step]} is not set; cannot queue {job.step.value}")
        try:
            self._client.send_message(QueueUrl=url, MessageBody=job_body(job))
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"Could not queue the {job.step.value} job; try again shortly.") from error


@lru_cache(maxsize=1)
def get_job_queue() -> SqsJobQueue:
    return SqsJobQueue()
