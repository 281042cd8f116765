"""What the operations need of the HTTP API client (`client.ApiClient`); tests pass in-memory fakes."""

from __future__ import annotations

from typing import Any, Protocol


class Api(Protocol):
    def get(self, path: str, **params: Any) -> Any: ...

    def post(self, path: str, body: Any) -> Any: ...

    def delete(self, path: str) -> Any: ...
