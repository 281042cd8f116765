"""Trainers: how a retrain run turns exported data into a candidate version. Chosen by `RETRAIN_TRAINER`.

- `gepa` (default): evolves the prompt with GEPA, measured on the validation split (`gepa_trainer.py`).
- `compile` (`prompt` is its deprecated alias): compiles a retrained prompt version
  (`domain.retrain.compile_prompt`) with no model calls; works with any model, and with no fine-tuning
  at all (OpenAI closes self-serve fine-tuning to new jobs after 2027-01-06). The baseline GEPA must beat.
- `openai`: uploads the exported JSONL to a named endpoint (`openai`, `bedrock`, any base URL) and
  creates a fine-tuning job - supervised (SFT), preference (DPO) or reinforcement (RFT, the judge as
  grader) - then polls it. A provider that refuses the job for good (deprecation, quota, a model it
  does not fine-tune) fails the run with the reason in words and what to use next.
Both are idempotent per run: a retried step finds what the first attempt made (the prompt version
by the run id in its notes, the job by the run id in its metadata) instead of making it twice.
- `bedrock-customization`: creates an Amazon Bedrock model customization job from the export's
  `bedrock-conversation-2024` lines (the job named after the run), then polls it.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from typing import Any, Protocol

from replyloop.domain.endpoints import DEFAULT_ENDPOINT, classify_refusal, refusal_reason
from replyloop.domain.errors import LlmUnavailableError
from replyloop.domain.prompts import PromptVersion
from replyloop.domain.reinforcement import judge_grader
from replyloop.domain.retrain import DEFAULT_EXEMPLAR_TOKEN_BUDGET, compile_prompt
from replyloop.domain.retrain_names import TrainerName
from replyloop.domain.runs import FineTuneMethod, TrainerError, TrainingContext, TrainingState, TrainingStatus
from replyloop.ports import Registry

OPENAI_RUNNING = {"validating_files", "queued", "running", "pausing", "paused"}
FILE_PREFIXES = {"sft": "", "dpo": "dpo_", "reinforcement": "rft_"}


def _error_code(error: Any) -> str | None:
    body = error.body if isinstance(getattr(error, "body", None), dict) else {}
    nested = body.get("error") if isinstance(body.get("error"), dict) else body
    return getattr(error, "code", None) or (nested or {}).get("code")


def _error_message(error: Any) -> str:
    body = error.body if isinstance(getattr(error, "body", None), dict) else {}
    nested = body.get("error") if isinstance(body.get("error"), dict) else body
    return str((nested or {}).get("message") or getattr(error, "message", "") or error)


def _trainers_without_fine_tuning() -> list[str]:
    """What to use when no provider fine-tunes: the trainers that read no training file."""
    return [trainer.value for trainer in TrainerName if trainer.data_format is None]


class PromptTrainer:
    name = TrainerName.COMPILE

    def __init__(self, registry: Registry, token_budget: int = DEFAULT_EXEMPLAR_TOKEN_BUDGET) -> None:
        self.registry, self.token_budget = registry, token_budget

    def start(self, context: TrainingContext) -> TrainingState:
        marker = f"Retrain run {context.run_id}."
        previous = context.active_prompt
        existing = self.registry.list_prompt_versions(previous.name)
        made = next((p for p in existing if p.improvement_notes.startswith(marker)), None)
        if made is None:
            if not context.material.category_counts:
                raise TrainerError("The export kept no failed replies to learn from.")
            compiled = compile_prompt(
                previous.text, previous.exemplars, context.material, token_budget=self.token_budget
            )
            made = PromptVersion(
                name=previous.name,
                version=max(p.version for p in existing) + 1,
                text=compiled.text,
                updated_at=context.now,
                improvement_notes=f"{marker} {compiled.improvement_notes}",
                exemplars=compiled.exemplars,
            )
            self.registry.put_prompt_version(made)
        return TrainingState(
            "succeeded",
            model=context.active.model,
            prompt_version=made.version,
            detail=f"Compiled prompt {made.name} v{made.version} with {len(made.exemplars)} exemplars.",
        )

    def poll(self, context: TrainingContext, state: TrainingState) -> TrainingState:
        return state


class S3Reader(Protocol):
    def download_fileobj(self, Bucket: str, Key: str, Fileobj: Any) -> None: ...


class OpenAITrainer:
    """Fine-tunes through the OpenAI API, or any compatible endpoint with files and fine-tuning jobs
    (`bedrock`: Bedrock's OpenAI-compatible endpoint for open-weight models)."""

    name = TrainerName.OPENAI

    def __init__(
        self,
        client: Any,
        s3: S3Reader,
        *,
        method: FineTuneMethod,
        base_model: str | None,
        endpoint: str = DEFAULT_ENDPOINT,
        endpoints: Sequence[str] = (DEFAULT_ENDPOINT,),
        judge_model: str = "gpt-4o-mini",
    ) -> None:
        self.client, self.s3, self.method, self.base_model = client, s3, method, base_model
        self.endpoint, self.endpoints, self.judge_model = endpoint, tuple(endpoints), judge_model

    def _upload(self, location: str) -> str:
        bucket, _, key = location.removeprefix("s3://").partition("/")
        with tempfile.TemporaryFile() as spool:  # streamed to disk, then to the API: no whole file in memory
            self.s3.download_fileobj(Bucket=bucket, Key=key, Fileobj=spool)
            spool.seek(0)
            return str(self.client.files.create(file=(key.rsplit("/", 1)[-1], spool), purpose="fine-tune").id)

    def _method(self) -> dict[str, Any]:
        """The job's `method`, as OpenAI's fine-tuning API documents it."""
        if self.method == "dpo":
            return {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}}
        if self.method == "reinforcement":
            return {"type": "reinforcement", "reinforcement": {"grader": judge_grader(self.judge_model)}}
        return {"type": "supervised"}

    def start(self, context: TrainingContext) -> TrainingState:
        import openai

        metadata = {"replyloop_run": context.run_id}
        try:
            found = list(self.client.fine_tuning.jobs.list(metadata=metadata, limit=1))
            if found:
                return self._state(context, found[0])
            prefix = FILE_PREFIXES[self.method]
            train = context.files.get(f"{prefix}train.jsonl")
            if not train:
                raise TrainerError(f"The export wrote no {prefix}train.jsonl for a {self.method} fine-tune.")
            validation = context.files.get(f"{prefix}validation.jsonl")
            job = self.client.fine_tuning.jobs.create(
                model=self.base_model or context.active.model,
                training_file=self._upload(train),
                validation_file=self._upload(validation) if validation else None,
                suffix="replyloop",
                method=self._method(),
                metadata=metadata,
            )
        except openai.APIStatusError as error:
            refusal = classify_refusal(error.status_code, _error_code(error), _error_message(error))
            if refusal is None:  # throttled or failing: the state machine's Retry tries again
                raise LlmUnavailableError(
                    f"The {self.endpoint} endpoint is busy or failing ({error.status_code}); try again shortly."
                ) from error
            raise TrainerError(
                refusal_reason(
                    refusal, endpoint=self.endpoint, trainers=_trainers_without_fine_tuning(), endpoints=self.endpoints
                )
            ) from error
        except openai.APIConnectionError as error:
            raise LlmUnavailableError(f"The {self.endpoint} endpoint did not answer; try again shortly.") from error
        return self._state(context, job)

    def poll(self, context: TrainingContext, state: TrainingState) -> TrainingState:
        return self._state(context, self.client.fine_tuning.jobs.retrieve(state.fine_tune_id))

    def _state(self, context: TrainingContext, job: Any) -> TrainingState:
        status: TrainingStatus
        if job.status in OPENAI_RUNNING:
            status, detail = "running", f"Fine-tuning job {job.id} is {job.status}."
        elif job.status == "succeeded":
            status, detail = "succeeded", f"Fine-tuning job {job.id} made {job.fine_tuned_model}."
        elif job.status == "cancelled":
            status, detail = "cancelled", f"Fine-tuning job {job.id} was cancelled."
        else:
            reason = getattr(job.error, "message", None) if job.error else None
            status, detail = "failed", f"Fine-tuning job {job.id} failed: {reason or job.status}."
        return TrainingState(
            status,
            model=job.fine_tuned_model or context.active.model,
            prompt_version=context.active.prompt_version,
            fine_tune_id=job.id,
            detail=detail,
            endpoint=self.endpoint,
        )


# -- Amazon Bedrock model customization -------------------------------------------------------------

BEDROCK_RUNNING = {"InProgress", "Stopping"}
# What Bedrock answers when it will not take a new job: it would refuse the same request again.
BEDROCK_REFUSALS = {
    "ValidationException": "the request is invalid for this base model or data",
    "AccessDeniedException": "the role or account may not customize this model",
    "ServiceQuotaExceededException": "a model customization quota is spent",
    "ResourceNotFoundException": "the base model is not offered for customization here",
    "TooManyTagsException": "too many tags",
}
_JOB_NAME = re.compile(r"[^a-zA-Z0-9-]+")


def bedrock_job_name(run_id: str) -> str:
    """The customization job (and custom model) name of a run: how a retried step finds the job it made."""
    return f"replyloop-{_JOB_NAME.sub('-', run_id)}"[:63].rstrip("-")


class BedrockCustomizationTrainer:
    """Fine-tunes on Amazon Bedrock (`CreateModelCustomizationJob`) from the export's Bedrock lines.

    The job and its custom model are named after the run (`bedrock_job_name`), so a retried start finds
    the job (`GetModelCustomizationJob`) instead of making a second. Drafting with the custom model needs
    Bedrock's Converse API (and its provisioned or on-demand deployment), which replyloop does not have:
    the candidate is registered with the custom model's ARN and is not evaluated (docs/retrain.md).
    """

    name = TrainerName.BEDROCK_CUSTOMIZATION

    def __init__(
        self,
        client: Any,
        *,
        role_arn: str | None,
        base_model: str | None,
        output_uri: str,
        hyper_parameters: dict[str, str] | None = None,
    ) -> None:
        self.client, self.role_arn, self.base_model = client, role_arn, base_model
        self.output_uri, self.hyper_parameters = output_uri, hyper_parameters or {}

    def start(self, context: TrainingContext) -> TrainingState:
        name = bedrock_job_name(context.run_id)
        found = self._find(name)
        if found is not None:
            return self._state(context, found)
        if not self.role_arn or not self.base_model:
            raise TrainerError(
                "The bedrock-customization trainer needs BEDROCK_CUSTOMIZATION_ROLE_ARN (a role Bedrock assumes to "
                "read the training bucket) and RETRAIN_BASE_MODEL (e.g. amazon.nova-micro-v1:0:128k); "
                "use trainer prompt meanwhile."
            )
        train = context.files.get("train.jsonl")
        if not train:
            raise TrainerError("The export wrote no train.jsonl for a Bedrock model customization job.")
        request: dict[str, Any] = {
            "jobName": name,
            "customModelName": name,
            "roleArn": self.role_arn,
            "baseModelIdentifier": self.base_model,
            "customizationType": "FINE_TUNING",
            "trainingDataConfig": {"s3Uri": train},
            "outputDataConfig": {"s3Uri": f"{self.output_uri.rstrip('/')}/{context.run_id}/bedrock-output/"},
            "hyperParameters": self.hyper_parameters,
            "jobTags": [{"key": "replyloop_run", "value": context.run_id}],
        }
        validation = context.files.get("validation.jsonl")
        if validation:
            request["validationDataConfig"] = {"validators": [{"s3Uri": validation}]}
        try:
            self.client.create_model_customization_job(**request)
        except self.client.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code == "ResourceInUseException":  # a concurrent attempt made it first
                return self._state(context, self.client.get_model_customization_job(jobIdentifier=name))
            if code in BEDROCK_REFUSALS:
                message = error.response.get("Error", {}).get("Message", "")
                raise TrainerError(
                    f"Bedrock refused the model customization job ({code}: {BEDROCK_REFUSALS[code]}): {message} "
                    "Use trainer gepa or compile (no fine-tuning), or the openai trainer on another endpoint."
                ) from error
            raise
        return self._state(context, self.client.get_model_customization_job(jobIdentifier=name))

    def _find(self, name: str) -> dict[str, Any] | None:
        try:
            job: dict[str, Any] = self.client.get_model_customization_job(jobIdentifier=name)
        except self.client.exceptions.ResourceNotFoundException:
            return None
        return job

    def poll(self, context: TrainingContext, state: TrainingState) -> TrainingState:
        # By name, which Bedrock accepts as the identifier as well as the ARN (moto resolves only names).
        name = bedrock_job_name(context.run_id)
        return self._state(context, self.client.get_model_customization_job(jobIdentifier=name))

    def _state(self, context: TrainingContext, job: dict[str, Any]) -> TrainingState:
        status: TrainingStatus
        name, arn, raw = job["jobName"], job["jobArn"], job["status"]
        model = context.active.model
        if raw in BEDROCK_RUNNING:
            status, detail = "running", f"Bedrock model customization job {name} is {raw}."
        elif raw == "Completed":
            model = str(job.get("outputModelArn") or job.get("outputModelName") or model)
            status = "succeeded"
            detail = (
                f"Bedrock model customization job {name} made {model}. Drafting with it needs Bedrock's Converse "
                "API, which replyloop does not have: it is registered as a candidate, not evaluated."
            )
        elif raw == "Stopped":
            status, detail = "cancelled", f"Bedrock model customization job {name} was stopped."
        else:
            reason = job.get("failureMessage") or raw
            status, detail = "failed", f"Bedrock model customization job {name} failed: {reason}."
        return TrainingState(
            status, model=model, prompt_version=context.active.prompt_version, fine_tune_id=arn, detail=detail
        )
