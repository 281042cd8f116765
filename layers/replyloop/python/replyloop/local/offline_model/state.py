"""What the offline model keeps between requests: files, jobs, batches, fine-tuned models.

State lives in this process (the local stack's lifetime, or a Lambda container's); every read
and write of these dicts holds `LOCK`, since the local stack serves requests on several threads.
"""

from __future__ import annotations

import threading
from typing import Any

Payload = dict[str, Any] | bytes  # a JSON object, or a file's content

LOCK = threading.Lock()
FILES: dict[str, dict[str, Any]] = {}
JOBS: dict[str, dict[str, Any]] = {}
TRAINED: dict[str, list[tuple[str, str]]] = {}  # fine-tuned model -> (customer message, reply)
BATCHES: dict[str, dict[str, Any]] = {}


def api_error(status: int, message: str, kind: str = "invalid_request_error") -> tuple[int, dict[str, Any]]:
    """An error in the OpenAI API's shape."""
    return status, {"error": {"message": message, "type": kind, "param": None, "code": None}}


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A job or batch without its private (`_`-prefixed) bookkeeping."""
    return {key: value for key, value in record.items() if not key.startswith("_")}
