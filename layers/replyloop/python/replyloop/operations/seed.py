"""`replyloop dev seed`: load the demo data set (`local.seed`) into a stack through its HTTP API.

Three steps, each its own function so the CLI can show progress between them: register the demo's
assistant versions (those not there yet; the last one left a candidate, so `replyloop stress-test`
has one to test), record the backdated history, then draft a few replies live.
What has been done so far is kept in a `SeedTally`, so a run stopped by an API error can say how far
it got.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from replyloop.operations.api import Api

# Requests in flight at once: the local stack serves up to 8 api events at once (its default concurrency, as
# Lambda runs environments side by side), so one after another would leave 7 of them idle.
SEED_CONCURRENCY = 8

Item = TypeVar("Item")
Answer = TypeVar("Answer")


def send_all(
    items: Iterable[Item],
    send: Callable[[Item], Answer],
    count: Callable[[Item, Answer], None],
    concurrency: int = SEED_CONCURRENCY,
) -> None:
    """`send` each item, `concurrency` at a time, and `count` each one answered (in this thread).

    On an error nothing new is sent; what is in flight finishes and is counted; then the first error is
    raised, so a tally says how far the run got."""
    failure: BaseException | None = None

    def settle(done: set[Future[tuple[Item, Answer]]]) -> None:
        nonlocal failure
        for future in done:
            error = future.exception()
            if error is not None:
                failure = failure or error
            else:
                count(*future.result())

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        pending: set[Future[tuple[Item, Answer]]] = set()
        for item in items:
            if len(pending) >= concurrency:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                settle(done)
            if failure is not None:
                break
            pending.add(pool.submit(lambda one: (one, send(one)), item))
        settle(wait(pending)[0])
    if failure is not None:
        raise failure


@dataclass
class SeedTally:
    """What a seed run has done so far; read it after an error, too."""

    versions: int = 0
    candidates: list[str] = field(default_factory=list)  # registered here and left waiting as candidates
    interactions: int = 0
    useful: int = 0
    not_useful: int = 0
    drafts: int = 0
    snoozed: int = 0
    approved: int = 0
    rejected: int = 0
    pending: int = 0

    @property
    def without_verdict(self) -> int:
        return self.interactions - self.useful - self.not_useful


def register_versions(api: Api, steps: Iterable[dict[str, Any]], tally: SeedTally) -> None:
    """For each step whose tag is new: a prompt version, the version, activated unless `"activate": False`.

    The steps are `local.seed.version_setup`'s (activated in turn) and `candidate_setup`'s (left a
    candidate). Tags the stack already has are left as they are, so seeding twice registers nothing twice.
    """
    existing = {version["versionTag"] for version in api.get("/api/versions")["items"]}
    for step in steps:
        if step["tag"] in existing:
            continue
        prompt = api.post("/api/prompts/reply/versions", step["prompt"])
        api.post(
            "/api/versions",
            {"versionTag": step["tag"], "promptVersion": prompt["version"], "description": step["description"]},
        )
        if step.get("activate", True):
            api.post(f"/api/versions/{step['tag']}/activate", None)
        else:
            tally.candidates.append(step["tag"])
        tally.versions += 1


def record_history(
    api: Api, requests: Iterable[dict[str, Any]], tally: SeedTally, concurrency: int = SEED_CONCURRENCY
) -> None:
    """Send each `local.seed.generate` request (an interaction, with or without a verdict), `concurrency` at once.

    Each is complete in itself (its `createdAt` is in its body), so the order they land in does not matter."""

    def count(item: dict[str, Any], _: Any) -> None:
        tally.interactions += 1
        verdict = item["body"].get("feedback")
        if verdict == "yes":
            tally.useful += 1
        elif verdict == "no":
            tally.not_useful += 1

    send_all(requests, lambda item: api.post(item["path"], item["body"]), count, concurrency)


def draft_live(api: Api, messages: Iterable[str], tally: SeedTally, concurrency: int = SEED_CONCURRENCY) -> None:
    """Draft a reply to each message with the active version, `concurrency` at once; counts the snoozed ones."""

    def count(_: str, answer: dict[str, Any]) -> None:
        tally.snoozed += bool(answer["snoozed"])
        tally.drafts += 1

    send_all(messages, lambda message: api.post("/api/replies", {"message": message}), count, concurrency)


def review_history(reviewer: Api, tally: SeedTally, *, approve_share: float = 0.75, reject_share: float = 0.05) -> None:
    """As a reviewer: approve most pending training examples, reject a few, leave the rest for the
    Training review page. Which one gets what depends on its interaction id alone (repeatable)."""
    pending: list[str] = []
    cursor = None
    while True:
        page = reviewer.get("/api/training-examples", status="pending", limit=50, cursor=cursor)
        pending += [item["interactionId"] for item in page["items"]]
        cursor = page.get("nextCursor")
        if not cursor:
            break
    approve, reject = [], []
    for interaction_id in pending:
        share = int(hashlib.blake2b(interaction_id.encode(), digest_size=4).hexdigest(), 16) / 2**32
        if share < approve_share:
            approve.append(interaction_id)
        elif share < approve_share + reject_share:
            reject.append(interaction_id)
    for start in range(0, max(len(approve), len(reject)), 50):
        done = reviewer.post(
            "/api/training-examples/review",
            {"approve": approve[start : start + 50], "reject": reject[start : start + 50], "note": "demo review"},
        )
        tally.approved += len(done["approved"])
        tally.rejected += len(done["rejected"])
    tally.pending = len(pending) - tally.approved - tally.rejected
