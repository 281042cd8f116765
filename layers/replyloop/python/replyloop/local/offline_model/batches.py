"""Batches (`/v1/batches`, chat completions only), as OpenAI runs them but one step per retrieval.

The input file is checked like OpenAI checks it (JSON lines with a unique `custom_id`, `method`
POST, the batch's `url`, a `body`); a bad file fails the batch with per-line errors. A batch moves
validating -> in_progress -> finalizing (every request is answered here, in process, by the same
chat completions code) -> completed, so it completes on the third retrieval. Answers go to an output
file, refused requests to an error file, in OpenAI's line format. Listing is newest first with
`after`/`limit` paging, and cancelling works as OpenAI's does (cancelling, then cancelled).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from replyloop.local.offline_model import chat
from replyloop.local.offline_model.files import store_file
from replyloop.local.offline_model.state import BATCHES, FILES, LOCK, api_error, public

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
    with LOCK:
        source = FILES.get(str(body.get("input_file_id")))
    if source is None:
        return api_error(400, f"No file {body.get('input_file_id')!r}; upload it first")
    if source["purpose"] != "batch":
        return api_error(400, f"File {source['id']} was uploaded for {source['purpose']!r}, not 'batch'")
    if body.get("endpoint") != BATCH_ENDPOINT:
        return api_error(400, f"The offline model batches only {BATCH_ENDPOINT}, not {body.get('endpoint')!r}")
    if body.get("completion_window") != "24h":
        return api_error(400, "completion_window must be '24h'")
    metadata = body.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict) or len(metadata) > 16 or not all(isinstance(v, str) for v in metadata.values())
    ):
        return api_error(400, "metadata is at most 16 string values")
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
    with LOCK:
        BATCHES[str(batch["id"])] = batch
    return 200, public(batch)


def _run_batch(batch: dict[str, Any], requests: list[tuple[str, dict[str, Any]]]) -> None:
    """Answer every request with the chat completions code; lines in OpenAI's output/error format."""
    output: list[str] = []
    failed: list[str] = []
    for custom, body in requests:
        try:
            status, answer = chat.chat_completion(body)
        except (TypeError, ValueError, AttributeError) as error:  # a body it cannot read fails its line only
            status, answer = api_error(400, f"The request body cannot be used: {error}")
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
            batch[name] = store_file(f"{batch['id']}_{name[:-8]}.jsonl", "batch_output", content)["id"]
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
    with LOCK:
        batch = BATCHES.get(batch_id)
        if batch is None:
            return api_error(404, f"No batch {batch_id!r}", "not_found_error")
        if batch.get("_busy"):  # another request is running it: report, do not run it twice
            return 200, public(batch)
        if method == "POST" and route.endswith("/cancel"):
            if batch["status"] in ("validating", "in_progress"):
                batch.update(status="cancelling", cancelling_at=int(time.time()))
            return 200, public(batch)
        batch["_busy"] = True
    try:
        _advance_batch(batch)
    finally:
        with LOCK:
            batch.pop("_busy", None)
    return 200, public(batch)


def batches_route(method: str, route: str, query: str, body: Any) -> tuple[int, dict[str, Any]]:
    if route != "/batches":
        return batch_request(method, route)
    if method == "GET":
        return list_batches(query)
    if not isinstance(body, dict):
        return api_error(400, "The body must be a JSON object")
    return create_batch(body)


def list_batches(query: str) -> tuple[int, dict[str, Any]]:
    """Newest first, `limit` (1-100, default 20) at a time after the `after` id, as the API pages them."""
    params = dict(parse_qsl(query))
    try:
        limit = max(1, min(100, int(params.get("limit", 20))))
    except ValueError:
        return api_error(400, "limit must be a number")
    with LOCK:
        ordered = [public(batch) for batch in reversed(BATCHES.values())]
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
