"""Files: multipart uploads, the file object and its content (`/v1/files`)."""

from __future__ import annotations

import time
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from replyloop.local.offline_model.state import FILES, LOCK, Payload, api_error


def parse_multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = (part.get_filename(), payload)
    return parts


def store_file(filename: str, purpose: str, content: bytes) -> dict[str, Any]:
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
    with LOCK:
        FILES[str(record["id"])] = {**record, "content": content}
    return record


def upload_file(parts: dict[str, tuple[str | None, bytes]]) -> tuple[int, dict[str, Any]]:
    if "file" not in parts or "purpose" not in parts:
        return api_error(400, "Send multipart form fields 'file' and 'purpose'")
    filename, content = parts["file"]
    return 200, store_file(filename or "upload.jsonl", parts["purpose"][1].decode(), content)


def file_request(route: str) -> tuple[int, Payload]:
    """`/files/{id}` (the file object) or `/files/{id}/content` (its bytes)."""
    parts = route.split("/")  # ["", "files", <id>, ("content")]
    with LOCK:
        found = FILES.get(parts[2])
    if found is None:
        return api_error(404, f"No such file {parts[2]!r}", "not_found_error")
    if len(parts) > 3 and parts[3] == "content":
        return 200, bytes(found["content"])
    return 200, {key: value for key, value in found.items() if key != "content"}
