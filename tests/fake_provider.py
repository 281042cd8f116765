"""A stand-in OpenAI-compatible provider on loopback: answers chat completions, files and fine-tuning jobs as
the OpenAI API shapes them, records every request, and refuses new fine-tuning jobs when told to (with the
status and error body a provider sends), so the openai SDK's real error types reach our code."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeProvider:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    # (status, {"error": {...}}) to answer POST /v1/fine_tuning/jobs with; None: accept the job
    refuse_jobs: tuple[int, dict[str, Any]] | None = None

    def reply(self, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        if path == "/v1/chat/completions":
            return 200, {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": index,
                        "message": {
                            "role": "assistant",
                            "content": f"Reply from {body['model']} at the fake provider.",
                        },
                        "finish_reason": "stop",
                        "logprobs": {
                            "content": [{"token": "Reply", "logprob": -0.01, "bytes": None, "top_logprobs": []}]
                        },
                    }
                    for index in range(int(body.get("n") or 1))
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
            }
        if path.startswith("/v1/fine_tuning/jobs") and body is None:
            return 200, {"object": "list", "data": [], "has_more": False}
        if path == "/v1/files":
            return 200, {
                "id": f"file-{len(self.requests)}",
                "object": "file",
                "bytes": 1,
                "created_at": 0,
                "filename": "train.jsonl",
                "purpose": "fine-tune",
                "status": "processed",
            }
        if path == "/v1/fine_tuning/jobs" and self.refuse_jobs:
            return self.refuse_jobs
        if path == "/v1/fine_tuning/jobs":
            return 200, {
                "id": "ftjob-fake-1",
                "object": "fine_tuning.job",
                "created_at": 0,
                "model": body["model"],
                "status": "validating_files",
                "fine_tuned_model": None,
                "finished_at": None,
                "error": None,
                "hyperparameters": {"n_epochs": 1},
                "organization_id": "org-fake",
                "result_files": [],
                "seed": 0,
                "trained_tokens": None,
                "training_file": body["training_file"],
                "validation_file": body.get("validation_file"),
                "method": body.get("method"),
                "metadata": body.get("metadata"),
            }
        return 404, {"error": {"message": f"no route {path}", "type": "invalid_request_error", "code": None}}


@contextmanager
def fake_provider() -> Iterator[FakeProvider]:
    provider = FakeProvider()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: Any = None
            if raw and self.headers.get("Content-Type", "").startswith("application/json"):
                body = json.loads(raw)
            elif raw:
                body = {"multipart": True}
            path = self.path.split("?", 1)[0]
            provider.requests.append(
                {"method": method, "path": path, "body": body, "authorization": self.headers.get("Authorization")}
            )
            status, payload = provider.reply(path, body if method == "POST" else None)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
