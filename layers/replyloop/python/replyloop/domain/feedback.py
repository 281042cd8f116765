"""Recording verdicts: what a verdict contributes, what changes, what it teaches."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from replyloop.domain.auth import Role
from replyloop.domain.entities import Feedback, Interaction, TrainingExample, TrainingPrompt, Verdict
from replyloop.domain.errors import ForbiddenError
from replyloop.domain.learning import Job, Step
from replyloop.domain.text import delimit

COUNTER_NAMES = ("interactions", "total", "useful", "not_useful", "overrides")


def normalise_reply(text: str | None) -> str | None:
    """An agent reply that is blank is no reply."""
    if text is None:
        return None
    stripped = text.strip()
    return stripped or None


def contribution(feedback: Feedback | None) -> Counter[str]:
    """What one verdict adds to the day counters."""
    if feedback is None:
        return Counter()
    counts = Counter(total=1)
    if feedback.verdict is Verdict.USEFUL:
        counts["useful"] = 1
    else:
        counts["not_useful"] = 1
        if feedback.agent_reply:
            counts["overrides"] = 1
    return counts


def counter_deltas(previous: Feedback | None, current: Feedback) -> dict[str, int]:
    """Counter changes that move the day from `previous` to `current`; zeros left out."""
    after, before = contribution(current), contribution(previous)
    deltas = {name: after[name] - before[name] for name in COUNTER_NAMES}
    return {name: value for name, value in deltas.items() if value}


def build_training_prompt(interaction: Interaction, verdict: Verdict, agent_reply: str | None) -> str:
    """The seeds' `buildTrainingPrompt`: the exchange and the verdict, the agent's reply on "no".

    The customer's text is delimited as data so a later prompt that embeds it cannot be steered by it.
    """
    lines = [
        "Customer message:",
        *delimit("customer_message", interaction.message),
        "AI reply:",
        *delimit("ai_reply", interaction.ai_reply),
        f"Was the AI reply useful? {verdict.value}",
    ]
    if verdict is Verdict.NOT_USEFUL and agent_reply:
        lines += ["Agent's reply:", *delimit("agent_reply", agent_reply)]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class FeedbackChange:
    """What recording one verdict writes. `unchanged` means nothing needs writing at all."""

    feedback: Feedback
    previous_revision: int | None
    training_prompt: TrainingPrompt
    training_example: TrainingExample | None
    counter_deltas: dict[str, int]
    unchanged: bool
    explain_job: Job | None = None  # a new "no" verdict asks the explain worker why the reply failed

    @property
    def history_entry(self) -> Feedback | None:
        """The revision appended to the interaction's verdict history; none when nothing changed."""
        return None if self.unchanged else self.feedback


def check_may_change(previous: Feedback | None, *, actor: str, roles: Iterable[Role]) -> None:
    """A plain agent changes only their own verdict; a reviewer (or an admin) may change anyone's.

    Nothing is lost either way: the earlier verdict stays in the history.
    """
    if previous is None or previous.submitted_by == actor or Role.REVIEWER in set(roles):
        return
    raise ForbiddenError(
        f"This verdict was given by {previous.submitted_by!r}; only they, a reviewer or an admin may change it."
    )


def verdict_history(entries: Iterable[Feedback], current: Feedback | None) -> tuple[Feedback, ...]:
    """Every verdict revision, oldest first, one per revision.

    A verdict recorded before the history was kept has no entry of its own: the current verdict stands
    in for it, so the history never misses the verdict the interaction shows.
    """
    by_revision = {entry.revision: entry for entry in entries}
    if current is not None:
        by_revision.setdefault(current.revision, current)
    return tuple(by_revision[revision] for revision in sorted(by_revision))


def plan_feedback(
    interaction: Interaction,
    previous: Feedback | None,
    *,
    useful: bool,
    agent_reply: str | None,
    actor: str,
    roles: Iterable[Role],
    now: datetime,
) -> FeedbackChange:
    """Decide what a verdict changes, given the one already recorded (if any).

    The same verdict and reply again changes nothing (whoever sends it); a new verdict moves the
    counters from the old verdict's contribution to the new one's and is appended to the history, and
    changing someone else's verdict needs the reviewer role (`ForbiddenError`). A training example
    exists only while the verdict is "no" with an agent reply.
    """
    held = frozenset(roles)
    verdict = Verdict.from_useful(useful)
    reply = normalise_reply(agent_reply)
    if previous is not None and previous.verdict is verdict and previous.agent_reply == reply:
        unchanged = True
        feedback = previous
    else:
        check_may_change(previous, actor=actor, roles=held)
        unchanged = False
        feedback = Feedback(
            interaction_id=interaction.interaction_id,
            verdict=verdict,
            agent_reply=reply,
            submitted_at=now,
            submitted_by=actor,
            revision=(previous.revision + 1) if previous else 1,
            by_reviewer=Role.REVIEWER in held,  # its reply needs no other reviewer's approval to train
        )
    prompt = TrainingPrompt(
        interaction_id=interaction.interaction_id,
        prompt=build_training_prompt(interaction, verdict, reply),
        rating=1 if verdict.useful else 0,
    )
    example = (
        TrainingExample(interaction.interaction_id, prompt.prompt, reply)
        if verdict is Verdict.NOT_USEFUL and reply
        else None
    )
    return FeedbackChange(
        feedback=feedback,
        previous_revision=previous.revision if previous else None,
        training_prompt=prompt,
        training_example=example,
        counter_deltas={} if unchanged else counter_deltas(previous, feedback),
        unchanged=unchanged,
        explain_job=None
        if unchanged or verdict.useful
        else Job(interaction.interaction_id, Step.EXPLAIN, feedback.revision),
    )
