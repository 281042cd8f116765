"""The stress-test harness (client side): gather queries, send them concurrently, report.

The API runs each query through both versions and judges both (`POST /api/stress-tests/{id}/cases`),
so the harness works the same against the local stack and a deployed one. Concurrency is the number
of queries in flight; a 429 or 503 is retried with exponential backoff (the API's own model calls are
already retried by the SDK).

In batch mode the harness hands the queries over in chunks (`POST /api/stress-tests/{id}/queries`)
and then only polls (`POST /api/stress-tests/{id}/batch/poll`): the API drives the OpenAI Batch API.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from replyloop.client import ApiClient, ApiError

RETRYABLE = (0, 429, 503)
MAX_ATTEMPTS = 6
CHUNK_BYTES = 48_000  # under the API's 64 KiB body limit, with room for the envelope
CHUNK_QUERIES = 500  # the API's limit per request


@dataclass(frozen=True)
class Query:
    message: str
    reference_reply: str | None = None
    interaction_id: str | None = None


def failed_queries(client: ApiClient, days: int, limit: int) -> list[Query]:
    """The last `days` days of real "not useful" verdicts with their AI reply (and agent reply)."""
    start = (datetime.now(UTC) - timedelta(days=days - 1)).date().isoformat()
    found: list[Query] = []
    cursor = None
    while len(found) < limit:
        page = client.get("/api/feedback/replay", verdict="no", limit=100, cursor=cursor, **{"from": start})
        found += [
            Query(item["message"], item.get("agentReply"), item["interactionId"])
            for item in page["items"]
            if item.get("aiReply")
        ]
        cursor = page.get("nextCursor")
        if not cursor:
            break
    return found[:limit]


def simulated_queries(count: int, seed: int = 7) -> list[Query]:
    """Customer messages from the demo data set, with the agents' replies as the reference."""
    from replyloop.local.seed import OFF_SCRIPT, SCENARIOS, _person

    rng = random.Random(seed)
    queries = []
    for index in range(count):
        if index % 10 == 9:
            queries.append(Query(rng.choice(OFF_SCRIPT)))
            continue
        scenario, person = rng.choice(SCENARIOS), _person(rng)
        queries.append(Query(scenario.message.format(**person), scenario.agent_reply.format(**person)))
    return queries


def case_body(index: int, query: Query) -> dict[str, Any]:
    body = {
        "caseId": f"q{index}",
        "message": query.message,
        "referenceReply": query.reference_reply,
        "interactionId": query.interaction_id,
    }
    return {key: value for key, value in body.items() if value is not None}


def _post(client: ApiClient, path: str, body: Any) -> dict[str, Any]:
    """POST, retrying a 429 or 503 (or no answer) with exponential backoff."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            result: dict[str, Any] = client.post(path, body)
            return result
        except ApiError as error:
            if error.status not in RETRYABLE or attempt == MAX_ATTEMPTS - 1:
                raise
            time.sleep(min(8.0, 0.25 * 2**attempt) * (1 + random.random() / 2))
    raise AssertionError("unreachable")


def _send(client: ApiClient, run_id: str, index: int, query: Query) -> dict[str, Any]:
    return _post(client, f"/api/stress-tests/{run_id}/cases", case_body(index, query))


def run_all(
    client: ApiClient, run_id: str, queries: list[Query], concurrency: int, progress: Callable[[int], None]
) -> Iterator[dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(_send, client, run_id, index, query) for index, query in enumerate(queries)]
        for future in as_completed(futures):
            progress(1)
            yield future.result()


def chunks(
    bodies: list[dict[str, Any]], max_bytes: int = CHUNK_BYTES, max_count: int = CHUNK_QUERIES
) -> Iterator[list[dict[str, Any]]]:
    """Consecutive groups of queries, each small enough for one request."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for body in bodies:
        length = len(json.dumps(body).encode()) + 1
        if chunk and (size + length > max_bytes or len(chunk) == max_count):
            yield chunk
            chunk, size = [], 0
        chunk.append(body)
        size += length
    if chunk:
        yield chunk


def add_batch_queries(client: ApiClient, run_id: str, queries: list[Query], progress: Callable[[int], None]) -> None:
    """Hand a batch run its queries; sending a chunk again is harmless (case ids overwrite)."""
    for chunk in chunks([case_body(index, query) for index, query in enumerate(queries)]):
        _post(client, f"/api/stress-tests/{run_id}/queries", {"queries": chunk})
        progress(len(chunk))


def poll_batch(client: ApiClient, run_id: str) -> dict[str, Any]:
    """Move a batch run on once (idempotent on the server, so a retried poll is safe)."""
    return _post(client, f"/api/stress-tests/{run_id}/batch/poll", None)
