"""The OpenAI Batch API through the openai SDK: upload a JSONL of requests, create, retrieve, read results.

Works with any server that speaks it: OpenAI, or the built-in offline model (which runs a batch in
process). The listing has no metadata filter in OpenAI's API, so `find` reads it newest first and
stops at batches older than the run: a retried submission finds the batch the first attempt made.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from replyloop.adapters.llm import LlmUnavailableError, structured_body
from replyloop.domain.stress_batch import BatchState

GONE = ("cancelling", "cancelled")


def batch_state(batch: Any) -> BatchState:
    counts = batch.request_counts
    errors = tuple(
        f"line {error.line}: {error.message}" if error.line else str(error.message or error.code)
        for error in ((batch.errors.data or []) if batch.errors else [])
    )
    return BatchState(
        batch_id=batch.id,
        status=batch.status,
        total=counts.total if counts else 0,
        completed=counts.completed if counts else 0,
        failed=counts.failed if counts else 0,
        output_file_id=batch.output_file_id,
        error_file_id=batch.error_file_id,
        errors=errors,
    )


@contextmanager
def _answered(what: str) -> Iterator[None]:
    """The SDK has retried already; what is left is not the request's fault (503 at the API)."""
    import openai

    try:
        yield
    except (openai.APITimeoutError, openai.APIConnectionError) as error:
        raise LlmUnavailableError(f"The {what} did not answer in time; try again shortly.") from error
    except openai.APIStatusError as error:
        raise LlmUnavailableError(f"The {what} refused the request: {error.message}") from error


class OpenAIBatches:
    def __init__(self, client: Any) -> None:
        self.client = client

    def _sdk(self, operation: Any, **arguments: Any) -> Any:
        with _answered("Batch API"):
            return operation(**arguments)

    def find(self, metadata: Mapping[str, str], since: int) -> BatchState | None:
        """The newest batch created at or after `since` (Unix seconds) carrying `metadata`, not cancelled."""
        with _answered("Batch API"):  # the listing fetches further pages while it is read
            for batch in self.client.batches.list(limit=100):
                if batch.created_at < since:
                    return None
                found = batch.metadata or {}
                if batch.status not in GONE and all(found.get(key) == value for key, value in metadata.items()):
                    return batch_state(batch)
        return None

    def submit(self, name: str, lines: Iterable[str], metadata: Mapping[str, str]) -> BatchState:
        """Upload the request lines (spooled to disk, not held in memory) and create a 24-hour batch."""
        with tempfile.TemporaryFile() as spool:
            for line in lines:
                spool.write(line.encode("utf-8"))
            spool.seek(0)
            uploaded = self._sdk(self.client.files.create, file=(name, spool), purpose="batch")
        batch = self._sdk(
            self.client.batches.create,
            input_file_id=uploaded.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata=dict(metadata),
        )
        return batch_state(batch)

    def retrieve(self, batch_id: str) -> BatchState:
        return batch_state(self._sdk(self.client.batches.retrieve, batch_id=batch_id))

    def cancel(self, batch_id: str) -> None:
        self._sdk(self.client.batches.cancel, batch_id=batch_id)

    def lines(self, file_id: str) -> Iterator[str]:
        """A result file's lines, streamed."""
        with _answered("Files API"), self.client.files.with_streaming_response.content(file_id) as response:
            yield from response.iter_lines()

    @staticmethod
    def structured_body(
        messages: list[dict[str, str]], *, model: str, output: type[Any], temperature: float = 0.0
    ) -> dict[str, Any]:
        return structured_body(messages, model=model, output=output, temperature=temperature)
