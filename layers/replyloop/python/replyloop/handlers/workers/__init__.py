"""SQS workers: explain (and "why this reply?") and correct. One record handler, two entry points.

Each record is a job `{"interactionId", "step", "revision"}`. Powertools' BatchProcessor reports
partial failures, so one bad message never fails its batch; Powertools idempotency is keyed on the
job's business key (interaction + step + revision), never the SQS message id, because a message
replayed from its DLQ arrives with a new id. Records of one batch are processed concurrently
(AsyncBatchProcessor, each record's blocking work in a thread), so ten slow LLM calls take about as
long as one. A failed record's error is logged and written next to
its message id so an operator inspecting the DLQ sees why (`replyloop dlq show`).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import AsyncBatchProcessor, EventType, async_process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from replyloop.caches import cached
from replyloop.domain.learning import Job, Step
from replyloop.handlers.observability import discard_unpublished_metrics, logger, metrics, tracer
from replyloop.services.learning import run_job
from replyloop.settings import WorkerSettings, load
from replyloop.wiring import get_job_failures, get_job_queue, get_learning_store, get_llm, get_llm_settings

IDEMPOTENCY = IdempotencyConfig(event_key_jmespath="[interactionId, step, revision]", expires_after_seconds=7 * 86400)


class JobMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    interaction_id: str = Field(alias="interactionId", min_length=1, max_length=64)
    step: Step
    revision: int = Field(ge=0)


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


# Report every failed record, even when all of a batch fail: an LLM outage is not a function error.
processor = RecordingBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _do_job(job: dict[str, Any]) -> dict[str, str]:
    outcome = run_job(
        Job(job["interactionId"], Step(job["step"]), int(job["revision"])),
        get_learning_store(),
        get_llm(),
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
    persistence = DynamoDBPersistenceLayer(table_name=table)
    return idempotent_function(data_keyword_argument="job", persistence_store=persistence, config=IDEMPOTENCY)(_do_job)


async def record_handler(record: SQSRecord) -> dict[str, str]:
    """Records of a batch run concurrently (their LLM calls overlap); each in a thread of its own."""
    return await asyncio.to_thread(handle_record, record)


@tracer.capture_method
def handle_record(record: SQSRecord) -> dict[str, str]:
    try:
        message = JobMessage.model_validate(json.loads(record.body))
    except (ValueError, ValidationError) as error:
        raise ValueError(f"Not a job message: {error}") from error
    job = message.model_dump(by_alias=True, mode="json")
    result: dict[str, str] = _idempotent_job()(job=job)
    logger.info("Job finished", extra={**job, **result})
    metrics.add_metric(name=f"Jobs{message.step.value.capitalize()}", unit=MetricUnit.Count, value=1)
    return result


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    discard_unpublished_metrics()
    load(WorkerSettings)
    IDEMPOTENCY.register_lambda_context(context)
    return async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
