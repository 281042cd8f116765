"""The built-in offline model: a small OpenAI-compatible API for running without a key.

Everything it produces is labelled: its model name is `replyloop-offline`. It is not canned:
- **drafting** answers from the few-shot exemplars in its prompt (`<example>` blocks): the reply of
  the exemplar whose customer message is nearest the new one (bag-of-words cosine). Its token
  logprobs carry that similarity, so a prompt with better exemplars gives better, more confident
  drafts - a retrained prompt measurably improves it. With no exemplar near, it writes a generic
  holding reply with low confidence (which the product snoozes for review).
- **structured output** (`response_format` with a JSON schema) is produced by handlers registered
  per schema name (`STRUCTURED_HANDLERS`); an unknown schema is a 400, never made-up JSON.
- **files and fine-tuning**: uploaded JSONL is checked like OpenAI checks it (every line a chat
  example ending with an assistant message, at least 10 lines); a job moves validating_files ->
  queued -> running -> succeeded (one step each time it is read) or fails with the reason, and its
  `fine_tuned_model` drafts with the training examples as extra exemplars - so a fine-tune
  measurably changes what it writes. State lives in this process (the local stack's lifetime).
- **batches** (`/v1/batches`, chat completions only): the input file is checked like OpenAI checks it
  (JSON lines with a unique `custom_id`, `method` POST, the batch's `url`, a `body`) - a bad file fails
  the batch with per-line errors. Like a fine-tuning job, a batch moves one step each time it is
  retrieved: validating -> in_progress -> finalizing (every request is answered here, in process, by
  the same chat completions code) -> completed, so it completes on the third retrieval. Answers go to
  an output file, refused requests to an error file, in OpenAI's line format; `GET
  /v1/files/{id}/content` returns either. Listing is newest first with `after`/`limit` paging, and
  cancelling works as OpenAI's does (cancelling, then cancelled).

Maintained fakes were checked first (fakellm 0.3.5, mockllm 0.0.8, openai-responses): they replay
configured answers and support neither logprobs nor answering from the prompt's exemplars.

It is transport-agnostic: `handle()` maps (method, path, JSON body) to (status, JSON). `transport()`
serves it in-process to the openai SDK (whose HTTP client is httpx2); the local stack also serves
it on loopback.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

import httpx2

MODEL_NAME = "replyloop-offline"
EXAMPLE_PATTERN = re.compile(
    r"<example>\s*<customer_message>\s*(.*?)\s*</customer_message>\s*<reply>\s*(.*?)\s*</reply>\s*</example>",
    re.DOTALL,
)
CUSTOMER_PATTERN = re.compile(r"<customer_message>\s*(.*?)\s*</customer_message>", re.DOTALL)
WORD = re.compile(r"[a-z0-9']+")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "to",
        "of",
        "in",
        "on",
        "for",
        "with",
        "at",
        "by",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "this",
        "that",
        "my",
        "your",
        "i",
        "you",
        "we",
        "me",
        "our",
        "us",
        "can",
        "could",
        "would",
        "will",
        "please",
        "hi",
        "hello",
        "thanks",
        "thank",
        "just",
        "so",
        "do",
        "did",
        "not",
        "no",
    ]
)
GENERIC_REPLY = (
    "Thanks for reaching out, and sorry for the trouble. I'm looking into this now and will get back "
    "to you with an answer as soon as possible."
)
GENERIC_CONFIDENCE = 0.2
MIN_PROBABILITY = 0.02

Payload = dict[str, Any] | bytes  # a JSON object, or a file's content
StructuredHandler = Callable[[list[dict[str, Any]], dict[str, Any]], dict[str, Any]]
STRUCTURED_HANDLERS: dict[str, StructuredHandler] = {}


def words(text: str) -> Counter[str]:
    return Counter(w for w in WORD.findall(text.lower()) if w not in STOPWORDS)


def cosine(left: Counter[str], right: Counter[str]) -> float:
    if not left or not right:
        return 0.0
    dot = sum(count * right[word] for word, count in left.items())
    norm = math.sqrt(sum(c * c for c in left.values())) * math.sqrt(sum(c * c for c in right.values()))
    return dot / norm if norm else 0.0


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


def draft_reply(messages: list[dict[str, Any]], extra: list[tuple[str, str]] | None = None) -> tuple[str, float]:
    """The nearest exemplar's reply and how near it was (0-1); `extra` are fine-tuning examples."""
    prompt = "\n".join(_text(m) for m in messages if m.get("role") in ("system", "developer"))
    users = [_text(m) for m in messages if m.get("role") == "user"]
    last_user = users[-1] if users else ""
    found = CUSTOMER_PATTERN.findall(last_user)
    customer = found[-1] if found else last_user
    target = words(customer)
    best_reply, best_score = GENERIC_REPLY, 0.0
    examples = EXAMPLE_PATTERN.findall(prompt + "\n" + "\n".join(users[:-1])) + list(extra or [])
    for example_message, example_reply in examples:
        score = cosine(target, words(example_message))
        if score > best_score:
            best_reply, best_score = example_reply.strip(), score
    if best_score < GENERIC_CONFIDENCE:
        return GENERIC_REPLY, GENERIC_CONFIDENCE
    return best_reply, best_score


def _tokens(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


def _logprobs(tokens: list[str], probability: float) -> list[dict[str, Any]]:
    """Per-token logprobs whose geometric mean is `probability` (a small, deterministic wobble)."""
    base = math.log(max(MIN_PROBABILITY, min(probability, 0.999)))
    wobble = [0.05 * math.sin(i) for i in range(len(tokens))]
    mean_wobble = sum(wobble) / len(wobble) if wobble else 0.0
    return [
        {
            "token": token,
            "logprob": min(0.0, base + w - mean_wobble),
            "bytes": list(token.encode()),
            "top_logprobs": [],
        }
        for token, w in zip(tokens, wobble, strict=True)
    ]


def _count_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(_tokens(_text(m))) for m in messages)


def _error(status: int, message: str, kind: str = "invalid_request_error") -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": message, "type": kind, "param": None, "code": None}}


def chat_completion(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error(400, "'messages' must be a non-empty list")
    choices_wanted = int(body.get("n") or 1)
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = response_format.get("json_schema") or {}
        handler = STRUCTURED_HANDLERS.get(str(schema.get("name")))
        if handler is None:
            return _error(400, f"The offline model cannot produce the schema {schema.get('name')!r}.")
        content, probability = json.dumps(handler(messages, schema.get("schema") or {})), 0.9
    else:
        with _LOCK:
            learned = list(_TRAINED.get(str(body.get("model")), []))
        content, probability = draft_reply(messages, learned)
    tokens = _tokens(content)
    choice_logprobs = {"content": _logprobs(tokens, probability), "refusal": None} if body.get("logprobs") else None
    completion_tokens = len(tokens)
    prompt_tokens = _count_tokens(messages)
    return 200, {
        "id": f"chatcmpl-offline-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(body.get("model")) if str(body.get("model", "")) in _TRAINED else MODEL_NAME,
        "system_fingerprint": "replyloop-offline",
        "choices": [
            {
                "index": index,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": choice_logprobs,
                "finish_reason": "stop",
            }
            for index in range(choices_wanted)
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens * choices_wanted,
            "total_tokens": prompt_tokens + completion_tokens * choices_wanted,
        },
    }


# -- files and fine-tuning -----------------------------------------------------------------------

_LOCK = threading.Lock()
_FILES: dict[str, dict[str, Any]] = {}
_JOBS: dict[str, dict[str, Any]] = {}
_TRAINED: dict[str, list[tuple[str, str]]] = {}  # fine-tuned model -> (customer message, reply)
_BATCHES: dict[str, dict[str, Any]] = {}
JOB_STEPS = ("validating_files", "queued", "running", "succeeded")
MIN_EXAMPLES = 10


def _parse_multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = (part.get_filename(), payload)
    return parts


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
        users = [_text(m) for m in messages if m.get("role") == "user"]
        found = CUSTOMER_PATTERN.findall(users[-1]) if users else []
        customer = found[-1] if found else (users[-1] if users else "")
        examples.append((customer, _text([m for m in messages if m.get("role") == "assistant"][-1])))
    if len(examples) < MIN_EXAMPLES:
        return [], f"the file has {len(examples)} examples; at least {MIN_EXAMPLES} are required"
    return examples, None


def _store_file(filename: str, purpose: str, content: bytes) -> dict[str, Any]:
    """Callers hold no lock; the file is visible once stored."""
    record = {
        "id": f"file-offline-{uuid.uuid4().hex[:20]}",
        "object": "file",
        "bytes": len(content),
        "created_at": int(time.time()),
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
    }
    with _LOCK:
        _FILES[str(record["id"])] = {**record, "content": content}
    return record


def upload_file(parts: dict[str, tuple[str | None, bytes]]) -> tuple[int, dict[str, Any]]:
    if "file" not in parts or "purpose" not in parts:
        return _error(400, "Send multipart form fields 'file' and 'purpose'")
    filename, content = parts["file"]
    return 200, _store_file(filename or "upload.jsonl", parts["purpose"][1].decode(), content)


def file_request(route: str) -> tuple[int, Payload]:
    """`/files/{id}` (the file object) or `/files/{id}/content` (its bytes)."""
    parts = route.split("/")  # ["", "files", <id>, ("content")]
    with _LOCK:
        found = _FILES.get(parts[2])
    if found is None:
        return _error(404, f"No such file {parts[2]!r}", "not_found_error")
    if len(parts) > 3 and parts[3] == "content":
        return 200, bytes(found["content"])
    return 200, {key: value for key, value in found.items() if key != "content"}


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in job.items() if not key.startswith("_")}


def create_job(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with _LOCK:
        training = _FILES.get(str(body.get("training_file")))
    if training is None:
        return _error(400, f"No file {body.get('training_file')!r}; upload it first")
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
    with _LOCK:
        _JOBS[str(job["id"])] = job
    return 200, _public(job)


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
        tokens = sum(len(_tokens(message)) + len(_tokens(reply)) for message, reply in examples)
        job.update(fine_tuned_model=name, finished_at=int(time.time()), trained_tokens=tokens)
        _TRAINED[name] = examples


def job_request(method: str, route: str) -> tuple[int, dict[str, Any]]:
    parts = route.split("/")  # ["", "fine_tuning", "jobs", <id>, ("cancel")]
    job_id = parts[3] if len(parts) > 3 else ""
    with _LOCK:
        job = _JOBS.get(job_id)
        if job is None:
            return _error(404, f"No fine-tuning job {job_id!r}", "not_found_error")
        if method == "POST" and route.endswith("/cancel"):
            if job["status"] not in ("succeeded", "failed"):
                job.update(status="cancelled", finished_at=int(time.time()))
        else:
            _advance(job)
        return 200, _public(job)


def list_jobs(query: str) -> tuple[int, dict[str, Any]]:
    """Newest first; `metadata[key]=value` filters as the API does."""
    wanted = {
        key[len("metadata[") : -1]: value
        for key, value in parse_qsl(query)
        if key.startswith("metadata[") and key.endswith("]")
    }
    with _LOCK:
        jobs = [
            _public(job)
            for job in reversed(_JOBS.values())
            if all((job.get("metadata") or {}).get(key) == value for key, value in wanted.items())
        ]
    return 200, {"object": "list", "data": jobs, "has_more": False}


# -- batches --------------------------------------------------------------------------------------

BATCH_ENDPOINT = "/v1/chat/completions"  # the only endpoint the offline model can batch


def check_batch_file(content: bytes, endpoint: str) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
    """(custom_id, body) per request, or OpenAI-style errors naming the line."""
    requests: list[tuple[str, dict[str, Any]]] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()

    def refuse(number: int, code: str, message: str) -> None:
        errors.append({"code": code, "message": message, "param": None, "line": number})

    for number, line in enumerate(content.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            refuse(number, "invalid_json_line", "This line is not parseable as valid JSON.")
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("custom_id"), str):
            refuse(number, "missing_required_parameter", "Each line needs a string 'custom_id'.")
        elif entry["custom_id"] in seen:
            refuse(number, "duplicate_custom_id", f"The custom_id {entry['custom_id']!r} is used more than once.")
        elif entry.get("method") != "POST":
            refuse(number, "invalid_method", "Only POST requests can be batched.")
        elif entry.get("url") != endpoint:
            refuse(number, "mismatched_endpoint", f"The url {entry.get('url')!r} is not the batch's {endpoint}.")
        elif not isinstance(entry.get("body"), dict):
            refuse(number, "missing_required_parameter", "Each line needs a JSON object 'body'.")
        else:
            seen.add(entry["custom_id"])
            requests.append((entry["custom_id"], entry["body"]))
    if not requests and not errors:
        refuse(0, "empty_file", "The input file has no requests.")
    return requests, errors


def create_batch(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with _LOCK:
        source = _FILES.get(str(body.get("input_file_id")))
    if source is None:
        return _error(400, f"No file {body.get('input_file_id')!r}; upload it first")
    if source["purpose"] != "batch":
        return _error(400, f"File {source['id']} was uploaded for {source['purpose']!r}, not 'batch'")
    if body.get("endpoint") != BATCH_ENDPOINT:
        return _error(400, f"The offline model batches only {BATCH_ENDPOINT}, not {body.get('endpoint')!r}")
    if body.get("completion_window") != "24h":
        return _error(400, "completion_window must be '24h'")
    metadata = body.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict) or len(metadata) > 16 or not all(isinstance(v, str) for v in metadata.values())
    ):
        return _error(400, "metadata is at most 16 string values")
    now = int(time.time())
    batch = {
        "id": f"batch_offline{uuid.uuid4().hex[:20]}",
        "object": "batch",
        "endpoint": BATCH_ENDPOINT,
        "errors": None,
        "input_file_id": source["id"],
        "completion_window": "24h",
        "status": "validating",
        "output_file_id": None,
        "error_file_id": None,
        "created_at": now,
        "in_progress_at": None,
        "expires_at": now + 86400,
        "finalizing_at": None,
        "completed_at": None,
        "failed_at": None,
        "expired_at": None,
        "cancelling_at": None,
        "cancelled_at": None,
        "request_counts": {"total": 0, "completed": 0, "failed": 0},
        "metadata": metadata,
        "_input": source["content"],
    }
    with _LOCK:
        _BATCHES[str(batch["id"])] = batch
    return 200, _public(batch)


def _run_batch(batch: dict[str, Any], requests: list[tuple[str, dict[str, Any]]]) -> None:
    """Answer every request with the chat completions code; lines in OpenAI's output/error format."""
    output: list[str] = []
    failed: list[str] = []
    for custom, body in requests:
        try:
            status, answer = chat_completion(body)
        except (TypeError, ValueError, AttributeError) as error:  # a body it cannot read fails its line only
            status, answer = _error(400, f"The request body cannot be used: {error}")
        line = json.dumps(
            {
                "id": f"batch_req_offline{uuid.uuid4().hex[:16]}",
                "custom_id": custom,
                "response": {"status_code": status, "request_id": f"req_{uuid.uuid4().hex[:16]}", "body": answer},
                "error": None,
            }
        )
        (output if status == 200 else failed).append(line)
    for name, lines in (("output_file_id", output), ("error_file_id", failed)):
        if lines:
            content = ("\n".join(lines) + "\n").encode()
            batch[name] = _store_file(f"{batch['id']}_{name[:-8]}.jsonl", "batch_output", content)["id"]
    batch["request_counts"] = {"total": len(requests), "completed": len(output), "failed": len(failed)}


def _advance_batch(batch: dict[str, Any]) -> None:
    """One step per retrieval (see the module docstring); the caller holds no lock while requests run."""
    now = int(time.time())
    status = batch["status"]
    if status == "validating":
        requests, errors = check_batch_file(batch["_input"], batch["endpoint"])
        if errors:
            batch.update(status="failed", failed_at=now, errors={"object": "list", "data": errors})
            return
        batch["_requests"] = requests
        batch["request_counts"] = {"total": len(requests), "completed": 0, "failed": 0}
        batch.update(status="in_progress", in_progress_at=now)
    elif status == "in_progress":
        _run_batch(batch, batch["_requests"])
        del batch["_requests"]
        batch.update(status="finalizing", finalizing_at=now)
    elif status == "finalizing":
        batch.update(status="completed", completed_at=now)
    elif status == "cancelling":
        batch.pop("_requests", None)
        batch.update(status="cancelled", cancelled_at=now)


def batch_request(method: str, route: str) -> tuple[int, dict[str, Any]]:
    parts = route.split("/")  # ["", "batches", <id>, ("cancel")]
    batch_id = parts[2] if len(parts) > 2 else ""
    with _LOCK:
        batch = _BATCHES.get(batch_id)
        if batch is None:
            return _error(404, f"No batch {batch_id!r}", "not_found_error")
        if batch.get("_busy"):  # another request is running it: report, do not run it twice
            return 200, _public(batch)
        if method == "POST" and route.endswith("/cancel"):
            if batch["status"] in ("validating", "in_progress"):
                batch.update(status="cancelling", cancelling_at=int(time.time()))
            return 200, _public(batch)
        batch["_busy"] = True
    try:
        _advance_batch(batch)
    finally:
        with _LOCK:
            batch.pop("_busy", None)
    return 200, _public(batch)


def batches_route(method: str, route: str, query: str, body: Any) -> tuple[int, dict[str, Any]]:
    if route != "/batches":
        return batch_request(method, route)
    if method == "GET":
        return list_batches(query)
    if not isinstance(body, dict):
        return _error(400, "The body must be a JSON object")
    return create_batch(body)


def list_batches(query: str) -> tuple[int, dict[str, Any]]:
    """Newest first, `limit` (1-100, default 20) at a time after the `after` id, as the API pages them."""
    params = dict(parse_qsl(query))
    try:
        limit = max(1, min(100, int(params.get("limit", 20))))
    except ValueError:
        return _error(400, "limit must be a number")
    with _LOCK:
        ordered = [_public(batch) for batch in reversed(_BATCHES.values())]
    ids = [batch["id"] for batch in ordered]
    start = ids.index(params["after"]) + 1 if params.get("after") in ids else 0
    page = ordered[start : start + limit]
    return 200, {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": start + limit < len(ordered),
    }


def handle(  # noqa: PLR0911 - one return per route
    method: str, path: str, body: Any, *, raw: bytes = b"", content_type: str = ""
) -> tuple[int, Payload]:
    """One OpenAI API request: (method, path under the base URL, parsed JSON body) -> (status, JSON)."""
    path, _, query = path.partition("?")
    route = path.rstrip("/").removeprefix("/v1")
    if method == "GET" and route == "/fine_tuning/jobs":
        return list_jobs(query)
    if method == "GET" and route == "/models":
        return 200, {
            "object": "list",
            "data": [{"id": MODEL_NAME, "object": "model", "owned_by": "replyloop"}],
        }
    if method == "POST" and route == "/chat/completions":
        if not isinstance(body, dict):
            return _error(400, "The body must be a JSON object")
        return chat_completion(body)
    if method == "POST" and route == "/files":
        if not content_type.startswith("multipart/form-data"):
            return _error(400, "Upload files as multipart/form-data")
        return upload_file(_parse_multipart(content_type, raw))
    if method == "GET" and route.startswith("/files/"):
        return file_request(route)
    if route == "/batches" or route.startswith("/batches/"):
        return batches_route(method, route, query, body)
    if method == "POST" and route == "/fine_tuning/jobs":
        if not isinstance(body, dict):
            return _error(400, "The body must be a JSON object")
        return create_job(body)
    if route.startswith("/fine_tuning/jobs/"):
        return job_request(method, route)
    return _error(404, f"The offline model does not serve {method} {path}", "not_found_error")


def _dispatch(method: str, path: str, raw: bytes, content_type: str) -> tuple[int, Payload]:
    if content_type.startswith("multipart/form-data"):
        return handle(method, path, None, raw=raw, content_type=content_type)
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        return _error(400, "The body is not JSON")
    return handle(method, path, body, raw=raw, content_type=content_type)


def _handle_httpx(request: httpx2.Request) -> httpx2.Response:
    status, payload = _dispatch(
        request.method,
        request.url.path + (f"?{request.url.query.decode()}" if request.url.query else ""),
        request.read(),
        request.headers.get("content-type", ""),
    )
    if isinstance(payload, bytes):
        return httpx2.Response(status, content=payload, headers={"content-type": "application/octet-stream"})
    return httpx2.Response(status, json=payload)


def transport() -> httpx2.MockTransport:
    """An httpx2 transport that answers in-process (for `openai.OpenAI(http_client=...)`)."""
    return httpx2.MockTransport(_handle_httpx)


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The same API as a WSGI app, so the local stack can serve it on loopback."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    status, payload = _dispatch(
        environ["REQUEST_METHOD"],
        environ.get("PATH_INFO", "/") + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else ""),
        raw,
        environ.get("CONTENT_TYPE", ""),
    )
    binary = isinstance(payload, bytes)
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    start_response(
        f"{status} {'OK' if status == 200 else 'Error'}",
        [
            ("Content-Type", "application/octet-stream" if binary else "application/json"),
            ("Content-Length", str(len(data))),
        ],
    )
    return [data]


# -- structured outputs for learning (schema names are the pydantic models' names) ---------------

GENERIC_MARKERS = (
    "faq",
    "policy",
    "please wait",
    "try resetting",
    "turning it off",
    "from time to time",
    "usually takes",
    "check our",
)
POLITE = ("sorry", "thank", "apolog", "happy to", "glad", "please")
REWORDINGS = (
    ("So sorry", "I'm sorry"),
    ("Sorry", "Apologies"),
    ("Thanks", "Thank you"),
    ("Hi ", "Hello "),
    ("I've", "I have"),
    ("it's", "it is"),
    ("can't", "cannot"),
    ("you'll", "you will"),
    ("We got", "We received"),
    ("just", "now"),
    ("I found", "I located"),
    ("pushed", "processed"),
)


def _tag(name: str, text: str) -> str:
    found = re.search(rf"<{name}>\s*(.*?)\s*</{name}>", text, re.DOTALL)
    return found.group(1).strip() if found else ""


def _conversation(messages: list[dict[str, Any]]) -> str:
    return "\n".join(_text(m) for m in messages if m.get("role") == "user")


def _is_generic(reply: str) -> bool:
    lowered = reply.lower()
    return reply.strip() == GENERIC_REPLY or any(marker in lowered for marker in GENERIC_MARKERS)


def infer_failure_category(ai_reply: str, agent_reply: str) -> str:
    if _is_generic(ai_reply):
        return "too generic"
    if not agent_reply or cosine(words(ai_reply), words(agent_reply)) < 0.15:
        return "did not resolve the issue"
    if len(ai_reply.split()) < 0.5 * len(agent_reply.split()):
        return "incomplete answer"
    return "wrong tone"


def _explain(messages: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    from replyloop.domain.topics import detect_topic

    text = _conversation(messages)
    ai, agent, customer = _tag("ai_reply", text), _tag("agent_reply", text), _tag("customer_message", text)
    category = infer_failure_category(ai, agent)
    reasons = {
        "too generic": "The AI reply points to general information instead of dealing with this customer's case.",
        "did not resolve the issue": "The AI reply does not address what the customer actually needs done.",
        "incomplete answer": "The AI reply covers the problem only partly and leaves out the concrete next step.",
        "wrong tone": "The AI reply has the right facts but not the warmth and ownership the agent showed.",
    }
    detail = " The agent instead took action and said what happens next." if agent else ""
    return {
        "explanation": reasons[category] + detail,
        "failure_category": category,
        "topic": detect_topic(customer),
    }


def _why(messages: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    ai = _tag("ai_reply", _conversation(messages))
    polite = any(word in ai.lower() for word in POLITE)
    return {
        "tone": "Polite and apologetic, following the prompt's instruction to be warm."
        if polite
        else "Neutral and brief; the prompt asks for concision and nothing in the message called for an apology.",
        "content": "It reuses the closest example reply in its prompt."
        if not _is_generic(ai)
        else "No example in its prompt matched this message, so it fell back to a general holding reply.",
        "helpfulness": "It names a concrete action and what happens next."
        if re.search(r"\d|today|tomorrow|refund", ai.lower())
        else "It does not commit to a concrete next step, so the customer will likely write again.",
    }


def _correct(messages: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    text = _conversation(messages)
    agent, ai = _tag("agent_reply", text), _tag("ai_reply", text)
    if not agent:
        return {
            "reply": f"{ai} I will follow up with the exact next step and when it happens.",
            "rationale": "Added a concrete commitment; no agent reply was available to learn from.",
        }
    reply = agent
    for old, new in REWORDINGS:
        reply = reply.replace(old, new)
    return {
        "reply": f"Thank you for your patience. {reply}",
        "rationale": "Took the agent's facts and actions, reworded, and opened by acknowledging the wait.",
    }


def _judge(messages: list[dict[str, Any]], schema: dict[str, Any]) -> dict[str, Any]:
    text = _conversation(messages)
    candidate, reference = _tag("candidate_reply", text), _tag("reference_reply", text)
    closeness = cosine(words(candidate), words(reference)) if reference else 0.5
    accuracy = 1 + round(9 * closeness)
    length_ratio = min(1.0, len(candidate.split()) / max(1, len(reference.split()))) if reference else 0.6
    completeness = 1 + round(9 * closeness * length_ratio)
    tone = 4 + 3 * any(word in candidate.lower() for word in POLITE) + (0 if _is_generic(candidate) else 2)
    helpfulness = 2 if _is_generic(candidate) else 1 + round(9 * (closeness + length_ratio) / 2)
    return {
        "accuracy": accuracy,
        "completeness": completeness,
        "tone": min(10, tone),
        "helpfulness": min(10, helpfulness),
        "comments": f"Offline judge: {round(100 * closeness)}% overlap with the reference reply"
        if reference
        else "Offline judge: no reference reply, scored on form only.",
    }


STRUCTURED_HANDLERS.update(
    {"FailureExplanation": _explain, "WhyThisReply": _why, "CorrectedReply": _correct, "JudgeScores": _judge}
)
