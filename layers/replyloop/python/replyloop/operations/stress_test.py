"""The stress-test harness (client side): gather queries, send them concurrently, report.

The API runs each query through both versions and judges both (`POST /api/stress-tests/{id}/cases`),
so the harness works the same against the local stack and a deployed one. Concurrency is the number
of queries in flight; a 429 or 503 is retried with exponential backoff (the API's own model calls are
already retried by the SDK).

In batch mode the harness hands the queries over in chunks (`POST /api/stress-tests/{id}/queries`)
and then only polls (`POST /api/stress-tests/{id}/batch/poll`): the API drives the OpenAI Batch API.

A run, as `replyloop stress-test` drives it: `newest_candidate` (unless one is named),
`gather_queries`, `start_run`, then `run_live` or `add_batch_queries` + `follow_batch`; each ends in a
`StressReport` that the drift guard reads.
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

from replyloop.client import ApiError
from replyloop.models.stress import BatchProgressView, StressTestCreated
from replyloop.operations.api import Api

RETRYABLE = (0, 429, 503)
MAX_ATTEMPTS = 6
CHUNK_BYTES = 48_000  # under the API's 64 KiB body limit, with room for the envelope
CHUNK_QUERIES = 500  # the API's limit per request


@dataclass(frozen=True)
class Query:
    message: str
    reference_reply: str | None = None
    interaction_id: str | None = None


@dataclass(frozen=True)
class QuerySet:
    queries: list[Query]
    source: str  # where they came from, as the run log names it


@dataclass(frozen=True)
class StressReport:
    """A finished run: which versions, and the API's summary (its `SummaryView`, camelCase, as received)."""

    run_id: str
    baseline: str
    candidate: str
    summary: dict[str, Any]

    @property
    def loss_share(self) -> float:
        return float(self.summary["lossShare"])

    def drifted(self, max_loss_share: float) -> bool:
        """The drift guard: the candidate lost on more than this share of the queries."""
        return self.loss_share > max_loss_share

    def to_json(self) -> dict[str, Any]:
        return {"runId": self.run_id, "baseline": self.baseline, "candidate": self.candidate, **self.summary}


@dataclass(frozen=True)
class BatchOutcome:
    """Where a batch run stands after `follow_batch`; `report` once it finished."""

    progress: BatchProgressView
    report: StressReport | None


def newest_candidate(api: Api) -> str | None:
    """The most recently registered version still waiting as a candidate (the API lists oldest first)."""
    candidates = [v["versionTag"] for v in api.get("/api/versions")["items"] if v["status"] == "candidate"]
    return candidates[-1] if candidates else None


def gather_queries(api: Api, *, days: int, limit: int, simulate: int | None = None) -> QuerySet:
    """`simulate` queries from the demo data set, else the last `days` days of "not useful" verdicts."""
    if simulate:
        queries = simulated_queries(min(simulate, limit))
        return QuerySet(queries, f"simulated x{len(queries)}")
    return QuerySet(failed_queries(api, days, limit), f"failed queries, last {days} days")


def start_run(api: Api, *, baseline: str | None, candidate: str, queries: QuerySet, batch: bool) -> StressTestCreated:
    """Open the run log; the API resolves the baseline (default: the active version)."""
    body = {
        "baseline": baseline,
        "candidate": candidate,
        "source": queries.source,
        "planned": len(queries.queries),
        "mode": "batch" if batch else "live",
    }
    return StressTestCreated.model_validate(api.post("/api/stress-tests", body))


def run_live(
    api: Api,
    run: StressTestCreated,
    queries: list[Query],
    concurrency: int,
    progress: Callable[[int], None],
    clock: Callable[[], float] = time.monotonic,
) -> StressReport:
    """Send every query (`concurrency` in flight), then finish the run with the wall time it took."""
    started = clock()
    for _ in run_all(api, run.run_id, queries, concurrency, progress):
        pass
    summary = api.post(f"/api/stress-tests/{run.run_id}/finish", {"durationSeconds": round(clock() - started, 3)})
    return StressReport(run.run_id, run.baseline, run.candidate, dict(summary))


def failed_queries(client: Api, days: int, limit: int) -> list[Query]:
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


def _post(client: Api, path: str, body: Any) -> dict[str, Any]:
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


def _send(client: Api, run_id: str, index: int, query: Query) -> dict[str, Any]:
    return _post(client, f"/api/stress-tests/{run_id}/cases", case_body(index, query))


def run_all(
    client: Api, run_id: str, queries: list[Query], concurrency: int, progress: Callable[[int], None]
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


def add_batch_queries(client: Api, run_id: str, queries: list[Query], progress: Callable[[int], None]) -> None:
    """Hand a batch run its queries; sending a chunk again is harmless (case ids overwrite)."""
    for chunk in chunks([case_body(index, query) for index, query in enumerate(queries)]):
        _post(client, f"/api/stress-tests/{run_id}/queries", {"queries": chunk})
        progress(len(chunk))


def poll_batch(client: Api, run_id: str) -> dict[str, Any]:
    """Move a batch run on once (idempotent on the server, so a retried poll is safe)."""
    return _post(client, f"/api/stress-tests/{run_id}/batch/poll", None)


def follow_batch(
    api: Api,
    run_id: str,
    *,
    wait: bool,
    poll_seconds: float,
    on_progress: Callable[[BatchProgressView], None] = lambda _: None,
    sleep: Callable[[float], None] = time.sleep,
) -> BatchOutcome:
    """Poll once, and with `wait` every `poll_seconds` until the run finished or failed."""
    while True:
        raw = poll_batch(api, run_id)
        progress = BatchProgressView.model_validate(raw)
        on_progress(progress)
        if progress.stage in ("finished", "failed") or not wait:
            break
        sleep(poll_seconds)
    report = None
    if progress.stage == "finished":
        report = StressReport(progress.run_id, progress.baseline, progress.candidate, dict(raw["summary"]))
    return BatchOutcome(progress, report)
