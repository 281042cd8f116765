"""A small client of the public HTTP API, for the CLI (seed now; export, stress tests later)."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DEFAULT_URL = "http://127.0.0.1:3000"


def default_url() -> str:
    return os.environ.get("REPLYLOOP_URL", DEFAULT_URL)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class ApiClient:
    def __init__(self, url: str, token: str | None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        query = f"?{urllib.parse.urlencode({k: v for k, v in (params or {}).items() if v is not None})}"
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(f"{self.url}{path}{query if params else ''}", data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            text = error.read().decode("utf-8", "replace")
            try:
                message = json.loads(text).get("message", text)
            except (ValueError, AttributeError):
                message = text
            raise ApiError(error.code, message) from error
        except urllib.error.URLError as error:
            raise ApiError(
                0,
                f"cannot reach {self.url} ({error.reason}); is the stack running? "
                "Start it with `replyloop dev start` or pass --url.",
            ) from error
        return json.loads(payload) if payload else None

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)
