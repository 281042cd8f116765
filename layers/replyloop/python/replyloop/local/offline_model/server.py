"""The offline model's HTTP API: one router, served in-process to the SDK or as a WSGI app."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx2

from replyloop.local.offline_model import chat
from replyloop.local.offline_model.batches import batches_route
from replyloop.local.offline_model.drafting import MODEL_NAME
from replyloop.local.offline_model.files import file_request, parse_multipart, upload_file
from replyloop.local.offline_model.fine_tuning import create_job, job_request, list_jobs
from replyloop.local.offline_model.state import Payload, api_error

# Milliseconds each chat completion waits before answering, as a real model's latency would (default 0).
# Read per request, so a stack started with it set (e.g. by the stress-test benchmark) has it.
LATENCY_VARIABLE = "REPLYLOOP_OFFLINE_LATENCY_MS"


def latency_seconds() -> float:
    """`$REPLYLOOP_OFFLINE_LATENCY_MS` in seconds; unset, empty or not a non-negative number: 0."""
    try:
        return max(0.0, float(os.environ.get(LATENCY_VARIABLE) or 0) / 1000)
    except ValueError:
        return 0.0


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
            return api_error(400, "The body must be a JSON object")
        delay = latency_seconds()
        if delay:
            time.sleep(delay)  # releases the GIL: concurrent requests wait side by side, as at a real model
        return chat.chat_completion(body)
    if method == "POST" and route == "/files":
        if not content_type.startswith("multipart/form-data"):
            return api_error(400, "Upload files as multipart/form-data")
        return upload_file(parse_multipart(content_type, raw))
    if method == "GET" and route.startswith("/files/"):
        return file_request(route)
    if route == "/batches" or route.startswith("/batches/"):
        return batches_route(method, route, query, body)
    if method == "POST" and route == "/fine_tuning/jobs":
        if not isinstance(body, dict):
            return api_error(400, "The body must be a JSON object")
        return create_job(body)
    if route.startswith("/fine_tuning/jobs/"):
        return job_request(method, route)
    return api_error(404, f"The offline model does not serve {method} {path}", "not_found_error")


def _dispatch(method: str, path: str, raw: bytes, content_type: str) -> tuple[int, Payload]:
    if content_type.startswith("multipart/form-data"):
        return handle(method, path, None, raw=raw, content_type=content_type)
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        return api_error(400, "The body is not JSON")
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
