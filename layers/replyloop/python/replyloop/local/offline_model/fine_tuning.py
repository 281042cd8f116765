"""Fine-tuning jobs (`/v1/fine_tuning/jobs`): checked like OpenAI checks them, one step per read.

Uploaded JSONL must hold at least 10 chat examples, each ending with an assistant message. A job
moves validating_files -> queued -> running -> succeeded, one step each time it is read (so a
poller sees every state and a local run takes seconds), or fails with the reason. Its
`fine_tuned_model` drafts with the training examples as extra exemplars, so a fine-tune measurably
changes what the model writes.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from replyloop.local.offline_model.drafting import CUSTOMER_PATTERN, MODEL_NAME, message_text, split_tokens
from replyloop.local.offline_model.state import FILES, JOBS, LOCK, TRAINED, api_error, public

JOB_STEPS = ("validating_files", "queued", "running", "succeeded")
MIN_EXAMPLES = 10


def check_training_file(content: bytes) -> tuple[list[tuple[str, str]], str | None]:
    """Chat fine-tuning examples in the file, or the reason OpenAI would refuse it."""
    examples: list[tuple[str, str]] = []
    for number, line in enumerate(content.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            messages = json.loads(line)["messages"]
        except (ValueError, KeyError, TypeError):
            return [], f"line {number} is not a JSON object with 'messages'"
        roles = [m.get("role") for m in messages if isinstance(m, dict)]
        if "assistant" not in roles or any(not str(m.get("content", "")).strip() for m in messages):
            return [], f"line {number} needs non-empty messages and an assistant message"
        users = [message_text(m) for m in messages if m.get("role") == "user"]
        found = CUSTOMER_PATTERN.findall(users[-1]) if users else []
        customer = found[-1] if found else (users[-1] if users else "")
        examples.append((customer, message_text([m for m in messages if m.get("role") == "assistant"][-1])))
    if len(examples) < MIN_EXAMPLES:
        return [], f"the file has {len(examples)} examples; at least {MIN_EXAMPLES} are required"
    return examples, None


def create_job(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with LOCK:
        training = FILES.get(str(body.get("training_file")))
    if training is None:
        return api_error(400, f"No file {body.get('training_file')!r}; upload it first")
    job = {
        "id": f"ftjob-offline-{uuid.uuid4().hex[:20]}",
        "object": "fine_tuning.job",
        "created_at": int(time.time()),
        "model": str(body.get("model", MODEL_NAME)),
        "training_file": training["id"],
        "validation_file": body.get("validation_file"),
        "status": JOB_STEPS[0],
        "fine_tuned_model": None,
        "finished_at": None,
        "error": None,
        "method": body.get("method"),
        "hyperparameters": {"n_epochs": 1},
        "organization_id": "org-offline",
        "result_files": [],
        "seed": int(body.get("seed") or 0),
        "trained_tokens": None,
        "metadata": body.get("metadata"),
        "_examples": check_training_file(training["content"]),
        "_suffix": body.get("suffix") or "replyloop",
    }
    with LOCK:
        JOBS[str(job["id"])] = job
    return 200, public(job)


def _advance(job: dict[str, Any]) -> None:
    """One step per read, so a poller sees every state and a local run takes seconds, not hours."""
    if job["status"] in ("succeeded", "failed", "cancelled"):
        return
    examples, problem = job["_examples"]
    if job["status"] == "validating_files" and problem:
        job.update(
            status="failed",
            finished_at=int(time.time()),
            error={"code": "invalid_training_file", "message": problem, "param": "training_file"},
        )
        return
    job["status"] = JOB_STEPS[JOB_STEPS.index(job["status"]) + 1]
    if job["status"] == "succeeded":
        name = f"ft:{job['model']}:{job['_suffix']}:offline:{job['id'][-8:]}"
        tokens = sum(len(split_tokens(message)) + len(split_tokens(reply)) for message, reply in examples)
        job.update(fine_tuned_model=name, finished_at=int(time.time()), trained_tokens=tokens)
        TRAINED[name] = examples


def job_request(method: str, route: str) -> tuple[int, dict[str, Any]]:
    parts = route.split("/")  # ["", "fine_tuning", "jobs", <id>, ("cancel")]
    job_id = parts[3] if len(parts) > 3 else ""
    with LOCK:
        job = JOBS.get(job_id)
        if job is None:
            return api_error(404, f"No fine-tuning job {job_id!r}", "not_found_error")
        if method == "POST" and route.endswith("/cancel"):
            if job["status"] not in ("succeeded", "failed"):
                job.update(status="cancelled", finished_at=int(time.time()))
        else:
            _advance(job)
        return 200, public(job)


def list_jobs(query: str) -> tuple[int, dict[str, Any]]:
    """Newest first; `metadata[key]=value` filters as the API does."""
    wanted = {
        key[len("metadata[") : -1]: value
        for key, value in parse_qsl(query)
        if key.startswith("metadata[") and key.endswith("]")
    }
    with LOCK:
        jobs = [
            public(job)
            for job in reversed(JOBS.values())
            if all((job.get("metadata") or {}).get(key) == value for key, value in wanted.items())
        ]
    return 200, {"object": "list", "data": jobs, "has_more": False}
