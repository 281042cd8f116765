"""The composition root: which adapter answers for each port, built on first use and kept per process.

Handlers (and the CLI, the local stack, the benchmarks) get their collaborators here and hand them to
the services; nothing else builds an AWS or OpenAI client. Every factory is `cached`, so
`caches.clear_all()` forgets all of them at once. Every adapter (boto3, openai, the trainers) is imported
inside its factory: a function's cold start pays only for what its requests use.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from replyloop.caches import cached
from replyloop.domain.errors import LlmUnavailableError
from replyloop.domain.learning import Step
from replyloop.domain.retrain_names import TrainerName
from replyloop.ports import BatchApi, Llm, Outputs, Redactor, Trainer
from replyloop.settings import (
    DeadLetterSettings,
    ExecutionSettings,
    LlmSettings,
    QueueSettings,
    RetrainSettings,
    TableSettings,
    TrainingBucketSettings,
    load,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from replyloop.adapters.customers import DynamoCustomerData
    from replyloop.adapters.dead_letters import SqsDeadLetters
    from replyloop.adapters.dynamodb import DynamoStore
    from replyloop.adapters.executions import StepFunctionsExecutions
    from replyloop.adapters.learning_store import DynamoJobFailures, DynamoLearningStore
    from replyloop.adapters.llm import LlmEndpoints, OpenAILlm
    from replyloop.adapters.queue import SqsJobQueue
    from replyloop.adapters.quotas import DynamoQuotas
    from replyloop.adapters.recent import RecentInteractionsInMemory
    from replyloop.adapters.registry import DynamoRegistry
    from replyloop.adapters.retrain_runs import DynamoRetrainRuns
    from replyloop.adapters.stress_log import DynamoStressLog
    from replyloop.adapters.training_reviews import DynamoTrainingReviews
    from replyloop.domain.redaction import Redaction
    from replyloop.domain.runs import FineTuneMethod
    from replyloop.services.erasure import ErasureDeps


def utc_now() -> datetime:
    """The clock every handler passes to the services (the `Clock` port)."""
    return datetime.now(UTC)


# -- settings ---------------------------------------------------------------------------------------


def get_llm_settings() -> LlmSettings:
    return load(LlmSettings)


def get_retrain_settings() -> RetrainSettings:
    return load(RetrainSettings)


# -- DynamoDB ---------------------------------------------------------------------------------------


def _table() -> dict[str, Any]:
    settings = load(TableSettings)
    return {"table_name": settings.table_name, "retention_days": settings.retention_days}


@cached
def get_store() -> DynamoStore:
    """The store for this process, built on first use (never at import time)."""
    from replyloop.adapters.dynamodb import DynamoStore

    return DynamoStore(**_table())


@cached
def get_recent_interactions() -> RecentInteractionsInMemory:
    """What this process recorded, read or gave a verdict on lately, so a verdict is one call (adapters/recent.py)."""
    from replyloop.adapters.recent import RecentInteractionsInMemory

    return RecentInteractionsInMemory()


@cached
def get_learning_store() -> DynamoLearningStore:
    from replyloop.adapters.learning_store import DynamoLearningStore

    return DynamoLearningStore(**_table())


@cached
def get_job_failures() -> DynamoJobFailures:
    from replyloop.adapters.learning_store import DynamoJobFailures

    return DynamoJobFailures(**_table())


@cached
def get_registry() -> DynamoRegistry:
    from replyloop.adapters.registry import DynamoRegistry

    return DynamoRegistry(**_table())


@cached
def get_stress_log() -> DynamoStressLog:
    from replyloop.adapters.stress_log import DynamoStressLog

    return DynamoStressLog(**_table())


@cached
def get_retrain_runs() -> DynamoRetrainRuns:
    from replyloop.adapters.retrain_runs import DynamoRetrainRuns

    return DynamoRetrainRuns(**_table())


@cached
def get_training_reviews() -> DynamoTrainingReviews:
    from replyloop.adapters.training_reviews import DynamoTrainingReviews

    return DynamoTrainingReviews(**_table())


@cached
def get_customer_data() -> DynamoCustomerData:
    from replyloop.adapters.customers import DynamoCustomerData

    return DynamoCustomerData(**_table())


@cached
def get_quotas() -> DynamoQuotas:
    from replyloop.adapters.quotas import DynamoQuotas
    from replyloop.domain.quota import QuotaPolicy
    from replyloop.settings import HttpSettings

    return DynamoQuotas(**_table(), policy=QuotaPolicy(load(HttpSettings).llm_calls_per_user_hour))


def erasure_deps(seconds_left: Callable[[], float]) -> ErasureDeps:
    """What an erasure pass needs: the table, the export objects, the clock and the invocation's time left."""
    from replyloop.adapters.training_files import S3ExportFiles
    from replyloop.services.erasure import ErasureDeps

    exports = S3ExportFiles(_s3(), load(TrainingBucketSettings).training_bucket)
    return ErasureDeps(get_customer_data(), exports, utc_now, seconds_left, recent=get_recent_interactions())


# -- SQS, Step Functions, S3 ------------------------------------------------------------------------


@cached
def get_job_queue() -> SqsJobQueue:
    from replyloop.adapters.queue import SqsJobQueue

    queues = load(QueueSettings)
    urls = {Step.EXPLAIN: queues.explain_queue_url, Step.WHY: queues.explain_queue_url}
    return SqsJobQueue({**urls, Step.CORRECT: queues.correct_queue_url})


@cached
def get_dead_letters() -> SqsDeadLetters:
    """Each worker queue's DLQ, for the jobs a worker dead-letters at once (only the ones configured)."""
    from replyloop.adapters.dead_letters import SqsDeadLetters, queue_name

    queues, dead = load(QueueSettings), load(DeadLetterSettings)
    pairs = ((queues.explain_queue_url, dead.explain_dlq_url), (queues.correct_queue_url, dead.correct_dlq_url))
    return SqsDeadLetters({queue_name(source): dlq for source, dlq in pairs if dlq})


@cached
def get_executions() -> StepFunctionsExecutions:
    from replyloop.adapters.executions import StepFunctionsExecutions

    return StepFunctionsExecutions(load(ExecutionSettings).retrain_state_machine_arn)


@cached
def _s3() -> Any:
    import boto3

    return boto3.client("s3")


def read_training_file(location: str) -> bytes:
    """A file a retrain run's export wrote (`s3://bucket/key`, within the training bucket only)."""
    from replyloop.adapters.training_files import read_object

    return read_object(_s3(), load(TrainingBucketSettings).training_bucket, location)


def outputs_for(run_id: str) -> Outputs:
    """Where a retrain run's export writes: `s3://<training bucket>/retrain/<runId>/`."""
    from replyloop.adapters.training_files import S3Outputs

    return S3Outputs(_s3(), load(TrainingBucketSettings).training_bucket, f"retrain/{run_id}")


# -- the model --------------------------------------------------------------------------------------


@cached
def get_llm_endpoints() -> LlmEndpoints:
    """Every named endpoint's client, each built on first use."""
    from replyloop.adapters.llm import build_endpoints

    return build_endpoints(get_llm_settings())


@cached
def get_openai_llm() -> OpenAILlm:
    from replyloop.adapters.llm import build_llm

    return build_llm(get_llm_settings(), get_llm_endpoints())


def get_llm() -> Llm:
    return get_openai_llm()


@cached
def get_batches() -> BatchApi:
    from replyloop.adapters.batches import OpenAIBatches

    return OpenAIBatches(get_openai_llm().client)


def get_redactor() -> Redactor:
    """Personal-data redaction. Presidio and spaCy are imported, and the model loaded, on the first text
    redacted: the retrain export, and the api's batch stress tests (the request files they leave with the
    provider); no other request, and no cold start, pays for them."""

    def redact(text: str, *, known_names: Iterable[str] = ()) -> Redaction:
        from replyloop.adapters.redaction import redact as redact_text

        return redact_text(text, known_names=known_names)

    return redact


def trainer_for(name: TrainerName, method: FineTuneMethod, *, endpoint: str = "openai") -> Trainer:
    """The retrain run's trainer (the `Trainers` port): GEPA, a compiled prompt, a fine-tuning job on the
    named endpoint, or a Bedrock model customization job."""
    from replyloop.adapters.trainers import OpenAITrainer, PromptTrainer

    if name is TrainerName.GEPA:
        from replyloop.adapters.gepa_trainer import GepaTrainer

        bucket = load(TrainingBucketSettings).training_bucket
        return GepaTrainer(get_registry(), get_llm(), get_llm_settings(), _s3(), bucket)
    if name is TrainerName.BEDROCK_CUSTOMIZATION:
        return _bedrock_trainer()
    if name is TrainerName.OPENAI:
        endpoints = get_llm_endpoints()
        try:
            client = endpoints.llm(endpoint).client
        except LlmUnavailableError as error:
            from replyloop.domain.runs import TrainerError

            raise TrainerError(str(error)) from error
        return OpenAITrainer(
            client,
            _s3(),
            method=method,
            base_model=get_retrain_settings().base_model,
            endpoint=endpoint,
            endpoints=endpoints.names,
            judge_model=get_llm_settings().draft_model,
        )
    return PromptTrainer(get_registry())


@cached
def _bedrock() -> Any:
    import boto3

    return boto3.client("bedrock")


def _bedrock_trainer() -> Trainer:
    from replyloop.adapters.trainers import BedrockCustomizationTrainer

    settings = get_retrain_settings()
    return BedrockCustomizationTrainer(
        _bedrock(),
        role_arn=settings.bedrock_role_arn,
        base_model=settings.base_model,
        output_uri=f"s3://{load(TrainingBucketSettings).training_bucket}/retrain",
    )
