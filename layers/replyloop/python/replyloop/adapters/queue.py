"""Job queues (SQS) behind a small interface."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from replyloop.domain.errors import StorageError
from replyloop.domain.learning import Job, Step


def job_body(job: Job) -> str:
    return json.dumps({"interactionId": job.interaction_id, "step": job.step.value, "revision": job.revision})


class SqsJobQueue:
    """Each step's job to its queue (`urls`: the queue URL per step, from the function's settings)."""

    def __init__(self, urls: Mapping[Step, str], client: Any | None = None) -> None:
        self._urls = dict(urls)
        self._client = client or boto3.client("sqs")

    def send(self, job: Job) -> None:
        try:
            self._client.send_message(QueueUrl=self._urls[job.step], MessageBody=job_body(job))
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"Could not queue the {job.step.value} job; try again shortly.") from error
