"""SQS workers: explain (and "why this reply?") and correct. One record handler, two entry points.

Each record is a job `{"interactionId", "step", "revision"}`. Powertools' BatchProcessor reports
partial failures, so one bad message never fails its batch; Powertools idempotency is keyed on the
job's business key (interaction + step + revision), never the SQS message id, because a message
replayed from its DLQ arrives with a new id. Records of one batch are processed concurrently
(AsyncBatchProcessor, each record's blocking work in a thread), so ten slow LLM calls take about as
long as one. A failed record's error is logged and written next to
its message id so an operator inspecting the DLQ sees why (`replyloop dlq show`).

Time: every model call is fitted into what is left of the invocation (`Llm.within(deadline)`), so a slow
model fails its own record (retried) instead of timing out the batch (all ten redelivered); a record
that gets its thread with less than `JOB_MIN_SECONDS` left is not started and is handed back the same
way. A job that can never succeed - a malformed body, a model refusal - is sent to its queue's DLQ at
once with the reason (`EXPLAIN_DLQ_URL` / `CORRECT_DLQ_URL`) and counted as processed, instead of
being retried maxReceiveCount times; outages and throttling are retried as before.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from replyloop.caches import cached
from replyloop.domain.deadline import Deadline
from replyloop.domain.errors import LlmRefusedError
from replyloop.domain.learning import Job, Step
from replyloop.handlers.observability import discard_unpublished_metrics, logger, metrics, tracer
from replyloop.ports import Llm
from replyloop.services.learning import run_job
from replyloop.settings import DeadLetterSettings, WorkerSettings, load
from replyloop.wiring import (
    get_dead_letters,
    get_job_failures,
    get_job_queue,
    get_learning_store,
    get_llm,
    get_llm_settings,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig


@functools.cache
def idempotency_config() -> IdempotencyConfig:
    """Powertools' idempotency keyed on the job, imported on the first batch: its package imports boto3 and
    its DynamoDB persistence layer (~0.1 s), which the cold start itself does not use. Under SnapStart the
    `before_snapshot` hook loads it (`warm`). Holds no client, so it outlives `caches.clear_all()`."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(event_key_jmespath="[interactionId, step, revision]", expires_after_seconds=7 * 86400)


def warm() -> None:
    """What the first batch would load (SnapStart runs this before the snapshot): idempotency, boto3."""
    import boto3  # noqa: F401  # the learning store's and queues' clients are built on first use

    idempotency_config()


class JobMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    interaction_id: str = Field(alias="interactionId", min_length=1, max_length=64)
    step: Step
    revision: int = Field(ge=0)


class JobDeferredError(Exception):
    """Too little of the invocation is left to start this job; SQS delivers it again."""


class RecordingBatchProcessor(AsyncBatchProcessor):
    """Writes each failure's error next to its message id, for whoever inspects the DLQ."""

    def failure_handler(self, record: Any, exception: Any) -> Any:
        entry = super().failure_handler(record, exception)
        error_type, error, _ = exception
        message_id = record.get("messageId") if isinstance(record, dict) else getattr(record, "message_id", None)
        try:
            get_job_failures().record_job_failure(str(message_id), f"{error_type.__name__}: {error}", datetime.now(UTC))
        except Exception:
            logger.exception("Could not record the failure", extra={"messageId": message_id})
        return entry


# One thread per record of a full batch (BatchSize in template.yaml, checked by tests/unit/test_timeouts.py):
# asyncio's default executor has min(32, CPUs + 4) threads - 5 or 6 in Lambda - so the second half of a
# batch would start only when the first half is done, with half the time. Threads start on first use.
RECORD_THREADS = 10
_record_threads = ThreadPoolExecutor(max_workers=RECORD_THREADS, thread_name_prefix="job")

# Report every failed record, even when all of a batch fail: an LLM outage is not a function error.
processor = RecordingBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _do_job(job: dict[str, Any], llm: Llm) -> dict[str, str]:
    outcome = run_job(
        Job(job["interactionId"], Step(job["step"]), int(job["revision"])),
        get_learning_store(),
        llm,
        get_llm_settings(),
        get_job_queue(),
        now=datetime.now(UTC),
    )
    return {"result": outcome.result}


@cached
def _idempotent_job() -> Any:
    """Built on first use, so importing this module creates no AWS client."""
    table = load(WorkerSettings).idempotency_table
    if not table:
        return _do_job
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

    persistence = DynamoDBPersistenceLayer(table_name=table)
    return idempotent_function(data_keyword_argument="job", persistence_store=persistence, config=idempotency_config())(
        _do_job
    )


async def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> dict[str, str]:
    """Records of a batch run concurrently (their LLM calls overlap); each in a thread of its own."""
    call = functools.partial(contextvars.copy_context().run, handle_record, record, lambda_context)
    return await asyncio.get_running_loop().run_in_executor(_record_threads, call)


@tracer.capture_method
def handle_record(record: SQSRecord, lambda_context: LambdaContext | None = None) -> dict[str, str]:
    llm = get_llm()
    if lambda_context is not None:
        deadline = Deadline(lambda_context.get_remaining_time_in_millis, get_llm_settings().deadline_margin_seconds)
        # Checked when the record gets its thread: late after a slow start, or behind others in a batch
        # larger than RECORD_THREADS.
        left, needed = deadline.seconds_left(), load(DeadLetterSettings).min_job_seconds
        if left < needed:
            raise JobDeferredError(f"Not started: {left:.1f} s left in the invocation, a job needs {needed:g} s")
        llm = llm.within(deadline)
    try:
        message = JobMessage.model_validate(json.loads(record.body))
    except (ValueError, ValidationError) as error:
        return _dead_letter(record, ValueError(f"Not a job message: {error}"))
    job = message.model_dump(by_alias=True, mode="json")
    try:
        result: dict[str, str] = _idempotent_job()(job=job, llm=llm)
    except LlmRefusedError as error:
        return _dead_letter(record, error, job)
    logger.info("Job finished", extra={**job, **result})
    metrics.add_metric(name=f"Jobs{message.step.value.capitalize()}", unit=MetricUnit.Count, value=1)
    return result


def _dead_letter(record: SQSRecord, error: Exception, job: dict[str, Any] | None = None) -> dict[str, str]:
    """A job that fails the same way every time: to its DLQ now, with the reason; raised if no DLQ is known."""
    dead_letters = get_dead_letters()
    if not dead_letters.knows(record.event_source_arn):
        raise error
    reason = f"{type(error).__name__}: {error}"
    dead_letters.send(record.event_source_arn, record.body, reason, message_id=record.message_id)
    logger.warning("Job dead-lettered", extra={**(job or {}), "messageId": record.message_id, "reason": reason})
    metrics.add_metric(name="JobsDeadLettered", unit=MetricUnit.Count, value=1)
    return {"result": f"dead-lettered: {reason}"}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    discard_unpublished_metrics()
    load(WorkerSettings)
    idempotency_config().register_lambda_context(context)
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
