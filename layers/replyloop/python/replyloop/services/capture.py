"""Capture: record interactions and verdicts, read them back for replay and analytics."""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from replyloop.domain.analytics import CategoryTrend, UsefulnessSummary, summarise, top_categories
from replyloop.domain.auth import Role
from replyloop.domain.entities import Feedback, Interaction, InteractionRecord, Page, ReplayRow, Source
from replyloop.domain.errors import (
    BusyError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    StorageError,
)
from replyloop.domain.feedback import FeedbackChange, plan_feedback
from replyloop.domain.learning import Job
from replyloop.domain.quota import Spend
from replyloop.ports import (
    CaptureWrite,
    ConcurrentChangeError,
    JobQueue,
    RecentInteractions,
    ReplayQuery,
    Store,
    WriteConflictError,
)

logger = logging.getLogger(__name__)

Charge = Callable[[Spend], None]  # charges the caller's quota for what a request will spend

DEFAULT_ASSISTANT_VERSION = "external"
MAX_ANALYTICS_DAYS = 366
BUSY_MESSAGE = "Too many replies and verdicts are being recorded at this moment; nothing was saved, please try again."


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a capture write that lost a race is sent again: bounded attempts, "full jitter" pauses.

    A lost race is a `TransactionConflict` on a counter shard (send the same write again) or a verdict
    that changed since it was read (re-read and plan again). Nothing was written by the losing attempt,
    so retrying never counts twice; the pauses spread the retries so the same writers do not collide again.
    """

    attempts: int = 6
    base_seconds: float = 0.02
    cap_seconds: float = 0.5
    retry_after_seconds: int = 1
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[float, float], float] = random.uniform

    def pause(self, attempt: int) -> None:
        """Before attempt `attempt + 1`: a uniform pause in [0, min(cap, base * 2**attempt)]."""
        self.sleep(self.jitter(0.0, min(self.cap_seconds, self.base_seconds * 2**attempt)))

    def busy(self) -> BusyError:
        return BusyError(BUSY_MESSAGE, retry_after_seconds=self.retry_after_seconds)


RETRY = RetryPolicy()


@dataclass(frozen=True, slots=True)
class NewInteraction:
    """An interaction a frontend drafted; `external_version` is its own version tag, if it sent one."""

    message: str
    ai_reply: str
    external_version: str | None = None
    confidence: float | None = None
    conversation_id: str | None = None
    customer_id: str | None = None
    topic: str | None = None
    created_at: datetime | None = None
    imported: bool = False  # an admin importing history: the version tag it names is the one counted


def new_interaction_id() -> str:
    return uuid.uuid4().hex


def _build_interaction(draft: NewInteraction, actor: str, now: datetime) -> Interaction:
    """A frontend's interaction: counted as `external`, whatever version tag it sent (kept as `external_version`),
    so no frontend can move a registered version's counters, replay index or retrain selection. The one
    exception is history an admin imports (`imported`): it counts under the version it names."""
    imported = draft.imported and bool(draft.external_version)
    return Interaction(
        interaction_id=new_interaction_id(),
        message=draft.message,
        ai_reply=draft.ai_reply,
        assistant_version=(draft.external_version or DEFAULT_ASSISTANT_VERSION)
        if imported
        else DEFAULT_ASSISTANT_VERSION,
        created_at=draft.created_at or now,
        created_by=actor,
        confidence=draft.confidence,
        conversation_id=draft.conversation_id,
        customer_id=draft.customer_id,
        topic=draft.topic,
        source=Source.IMPORTED if imported else Source.EXTERNAL,
        external_version=draft.external_version,
        confidence_source=None if draft.confidence is None else Source.EXTERNAL,
    )


def save_with_retry(store: Store, write: CaptureWrite) -> None:
    """Write a new interaction (and its verdict); on a `TransactionConflict` send the same write again.

    The write is fully planned before the first attempt, so a caller that paid for an LLM call does not
    pay again. After `RETRY.attempts` lost races: `BusyError` (the API answers 503 with `Retry-After`).
    """
    policy = RETRY
    for attempt in range(policy.attempts):
        try:
            store.save_capture(write)
            return
        except WriteConflictError:
            logger.info("Capture write lost a race", extra={"attempt": attempt + 1})
            if attempt + 1 < policy.attempts:
                policy.pause(attempt)
    raise policy.busy()


def record_interaction(
    store: Store,
    draft: NewInteraction,
    *,
    actor: str,
    now: datetime,
    recent: RecentInteractions | None = None,
) -> Interaction:
    """Store an interaction drafted elsewhere and count it on its day (and keep it in `recent` for its verdict)."""
    interaction = _build_interaction(draft, actor, now)
    save_with_retry(store, CaptureWrite(interaction=interaction, is_new_interaction=True))
    if recent is not None:
        recent.remember(interaction, None)
    return interaction


def dispatch(store: Store, queue: JobQueue | None, job: Job | None) -> None:
    """Queue a job the verdict's transaction put in the outbox, then clear it from the outbox.

    If queueing fails the verdict still stands: the job stays in the outbox and the outbox sweeper
    sends it later. Sending twice is harmless - workers are idempotent on the job's business key.
    """
    if job is None or queue is None:
        return
    try:
        queue.send(job)
        store.job_sent(job)
    except StorageError:
        logger.warning("Job left in the outbox for the sweeper", extra={"job": job.key}, exc_info=True)


def sweep_outbox(store: Store, queue: JobQueue, *, now: datetime, grace_seconds: int = 120, limit: int = 500) -> int:
    """Send every outbox job older than the grace period; returns how many were sent."""
    sent = 0
    for job in store.pending_jobs(now - timedelta(seconds=grace_seconds), limit):
        queue.send(job)
        store.job_sent(job)
        sent += 1
    return sent


def record_feedback(
    store: Store,
    interaction_id: str,
    *,
    useful: bool,
    agent_reply: str | None,
    actor: str,
    roles: frozenset[Role],
    now: datetime,
    queue: JobQueue | None = None,
    charge: Charge | None = None,
    recent: RecentInteractions | None = None,
) -> Feedback:
    """Record (or change) the verdict on an interaction; counts move, never double, the history grows.

    One DynamoDB call when `recent` holds the interaction (this process recorded, read or last changed it):
    the transaction is planned from that and conditioned on it - the interaction still exists, the verdict
    is still at the revision held - so a stale entry cancels it and nothing is written. Otherwise, and after
    any lost race, the interaction is read first (a Query), as it always was. A plan that would change
    nothing, or that the held verdict forbids, is checked against a fresh read too, since only a write's
    conditions can prove what is held.

    Changing a verdict someone else gave needs the reviewer role in `roles` (`ForbiddenError`, checked on each
    fresh read). Every lost race re-reads and plans again (the verdict may have changed); one lost on a counter shard
    also pauses first. Out of attempts: `BusyError` after a shard conflict, else `ConflictError`.
    A verdict that will queue the workers is charged to `charge` first, once (`QuotaExceededError`: nothing saved).
    """
    policy = RETRY
    contended = charged = False

    def plan(interaction: Interaction, previous: Feedback | None) -> FeedbackChange:
        return plan_feedback(
            interaction, previous, useful=useful, agent_reply=agent_reply, actor=actor, roles=roles, now=now
        )

    held = recent.get(interaction_id) if recent is not None else None
    for attempt in range(policy.attempts):
        # At most the first attempt is planned from what is held; every later one reads.
        change = _plan_from_held(held, plan) if attempt == 0 and held is not None else None
        if change is not None and held is not None:
            interaction = held[0]
        else:
            record = store.get_record(interaction_id)
            if record is None:
                if recent is not None:
                    recent.forget(interaction_id)
                raise NotFoundError(f"No interaction with id {interaction_id!r}.")
            interaction = record.interaction
            change = plan(interaction, record.feedback)
        if change.explain_job is not None and charge is not None and not charged:
            charge(Spend.LEARN)
            charged = True
        try:
            store.save_capture(CaptureWrite(interaction=interaction, is_new_interaction=False, feedback=change))
        except WriteConflictError:
            contended = True
            logger.info("Verdict write lost a race", extra={"attempt": attempt + 1})
            if attempt + 1 < policy.attempts:
                policy.pause(attempt)
            continue
        except ConcurrentChangeError:
            contended = False
            continue
        if recent is not None:
            recent.remember(interaction, change.feedback)
        dispatch(store, queue, change.explain_job)
        return change.feedback
    if contended:
        raise policy.busy()
    raise ConflictError("The verdict was changed by someone else at the same moment; please try again.")


def _plan_from_held(
    held: tuple[Interaction, Feedback | None], plan: Callable[[Interaction, Feedback | None], FeedbackChange]
) -> FeedbackChange | None:
    """The plan from a kept interaction and verdict, if a conditioned write can verify it: not one that
    changes nothing (no write, so no condition), nor a refusal (the verdict held may be out of date)."""
    try:
        change = plan(*held)
    except ForbiddenError:
        return None
    return None if change.unchanged else change


def record_feedback_log(
    store: Store,
    draft: NewInteraction,
    *,
    useful: bool,
    agent_reply: str | None,
    actor: str,
    roles: frozenset[Role] = frozenset(),
    now: datetime,
    queue: JobQueue | None = None,
    charge: Charge | None = None,
    recent: RecentInteractions | None = None,
) -> tuple[Interaction, Feedback]:
    """The seeds' one-call form: interaction and verdict stored together, atomically.

    An admin importing history (`draft.imported`) records other people's verdicts, so the import does not
    vouch for their corrections: they wait for a reviewer like any agent's. A verdict that queues the workers is
    charged to `charge` first; an import is not (a deliberate bulk load by an admin).
    """
    interaction = _build_interaction(draft, actor, now)
    vouching = frozenset() if draft.imported else roles
    change = plan_feedback(
        interaction, None, useful=useful, agent_reply=agent_reply, actor=actor, roles=vouching, now=now
    )
    if change.explain_job is not None and charge is not None and not draft.imported:
        charge(Spend.LEARN)
    save_with_retry(store, CaptureWrite(interaction=interaction, is_new_interaction=True, feedback=change))
    if recent is not None:
        recent.remember(interaction, change.feedback)
    dispatch(store, queue, change.explain_job)
    return interaction, change.feedback


def get_interaction(store: Store, interaction_id: str, recent: RecentInteractions | None = None) -> InteractionRecord:
    """The replay panel's data (always read afresh); kept in `recent`, since a verdict often follows."""
    record = store.get_record(interaction_id)
    if record is None:
        raise NotFoundError(f"No interaction with id {interaction_id!r}.")
    if recent is not None:
        recent.remember(record.interaction, record.feedback)
    return record


def check_range(start: date | None, end: date | None) -> None:
    """A date filter whose first day is after its last is the caller's mistake."""
    if start and end and start > end:
        raise InvalidRequestError(f"'from' ({start}) is after 'to' ({end}).")


def list_replay(store: Store, query: ReplayQuery) -> Page:
    check_range(query.start, query.end)
    return store.list_replay(query)


@dataclass(frozen=True, slots=True)
class Analytics:
    start: date
    end: date
    assistant_version: str | None
    summary: UsefulnessSummary
    top_negative: list[ReplayRow]
    categories: list[CategoryTrend]


def usefulness_analytics(
    store: Store,
    *,
    today: date,
    start: date | None = None,
    end: date | None = None,
    days: int = 30,
    assistant_version: str | None = None,
    top_negative: int = 5,
) -> Analytics:
    """Usefulness over a window (default: the last `days` days to today), from counters only."""
    end = end or today
    start = start or end - timedelta(days=days - 1)
    check_range(start, end)
    if (end - start).days + 1 > MAX_ANALYTICS_DAYS:
        raise InvalidRequestError(f"A window covers at most {MAX_ANALYTICS_DAYS} days.")
    stats = store.daily_stats(assistant_version, start, end)
    negatives = store.latest_not_useful(assistant_version, start, end, top_negative) if top_negative else []
    categories = top_categories(store.category_days(assistant_version, start, end), start, end)
    return Analytics(
        start=start,
        end=end,
        assistant_version=assistant_version,
        summary=summarise(stats, start, end),
        top_negative=negatives,
        categories=categories,
    )
