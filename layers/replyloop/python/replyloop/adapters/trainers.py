"""Trainers: how a retrain run turns exported data into a candidate version. Chosen by `RETRAIN_TRAINER`.

- `prompt` (default): compiles a retrained prompt version (`domain.retrain.compile_prompt`); works
  with any model, and with no fine-tuning at all (OpenAI closes self-serve fine-tuning to new jobs
  after 2027-01-06).
- `openai`: uploads the exported JSONL and creates a fine-tuning job - supervised (SFT) or
  preference (DPO) - then polls it.
Both are idempotent per run: a retried step finds what the first attempt made (the prompt version
by the run id in its notes, the job by the run id in its metadata) instead of making it twice.
A Bedrock model-customization trainer would be a third class with the same two methods.
"""

from __future__ import annotations

import tempfile
from typing import Any, Literal, Protocol

from replyloop.domain.prompts import PromptVersion
from replyloop.domain.retrain import DEFAULT_EXEMPLAR_TOKEN_BUDGET, compile_prompt
from replyloop.domain.retrain_names import TrainerName
from replyloop.domain.runs import TrainerError, TrainingContext, TrainingState, TrainingStatus
from replyloop.ports import Registry

OPENAI_RUNNING = {"validating_files", "queued", "running", "pausing", "paused"}


class PromptTrainer:
    name = TrainerName.PROMPT

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
    """Fine-tunes through the OpenAI API (or any compatible server with files and fine-tuning jobs)."""

    name = TrainerName.OPENAI

    def __init__(self, client: Any, s3: S3Reader, *, method: Literal["sft", "dpo"], base_model: str | None) -> None:
        self.client, self.s3, self.method, self.base_model = client, s3, method, base_model

    def _upload(self, location: str) -> str:
        bucket, _, key = location.removeprefix("s3://").partition("/")
        with tempfile.TemporaryFile() as spool:  # streamed to disk, then to the API: no whole file in memory
            self.s3.download_fileobj(Bucket=bucket, Key=key, Fileobj=spool)
            spool.seek(0)
            return str(self.client.files.create(file=(key.rsplit("/", 1)[-1], spool), purpose="fine-tune").id)

    def start(self, context: TrainingContext) -> TrainingState:
        import openai

        metadata = {"replyloop_run": context.run_id}
        try:
            found = list(self.client.fine_tuning.jobs.list(metadata=metadata, limit=1))
            if found:
                return self._state(context, found[0])
            prefix = "dpo_" if self.method == "dpo" else ""
            train = context.files.get(f"{prefix}train.jsonl")
            if not train:
                raise TrainerError(f"The export wrote no {prefix}train.jsonl for a {self.method} fine-tune.")
            validation = context.files.get(f"{prefix}validation.jsonl")
            method: dict[str, Any] = (
                {"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}}
                if self.method == "dpo"
                else {"type": "supervised"}
            )
            job = self.client.fine_tuning.jobs.create(
                model=self.base_model or context.active.model,
                training_file=self._upload(train),
                validation_file=self._upload(validation) if validation else None,
                suffix="replyloop",
                method=method,
                metadata=metadata,
            )
        except openai.BadRequestError as error:
            raise TrainerError(f"The fine-tuning API refused the job: {error.message}") from error
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
        )
