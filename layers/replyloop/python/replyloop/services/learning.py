"""Learning from failures: explain why a reply failed, write a better one, judge both."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime

from replyloop.domain.entities import Explanation, Improvement, InteractionRecord, Score, WhyThisReply
from replyloop.domain.errors import InvalidRequestError, NotFoundError
from replyloop.domain.learning import (
    KNOWN_CATEGORIES,
    Job,
    Step,
    correct_messages,
    explain_messages,
    judge_messages,
    merge_category,
    near_copy,
    why_messages,
)
from replyloop.domain.quota import Spend
from replyloop.domain.topics import detect_topic
from replyloop.models.llm import CorrectedReply, FailureExplanation, JudgeScores
from replyloop.models.llm import WhyThisReply as WhyOutput
from replyloop.ports import JobQueue, LearningStore, Llm, Store
from replyloop.services.capture import check_range
from replyloop.settings import LlmSettings


@dataclass(frozen=True, slots=True)
class Outcome:
    job: Job
    result: str  # done | already done | superseded | skipped: <why>


def _score(scores: JudgeScores) -> Score:
    return Score(scores.accuracy, scores.completeness, scores.tone, scores.helpfulness, scores.comments)


def run_job(
    job: Job, store: LearningStore, llm: Llm, settings: LlmSettings, queue: JobQueue, *, now: datetime
) -> Outcome:
    """Do one job. Safe to repeat: a redelivered or replayed job finds its result and does nothing."""
    record = store.get_record(job.interaction_id)
    if record is None:
        return Outcome(job, "skipped: the interaction does not exist")
    if job.step is Step.WHY:
        return _why(job, record, store, llm, settings, now)
    feedback = record.feedback
    if feedback is None or feedback.revision != job.revision:
        return Outcome(job, "superseded: the verdict changed since this job was queued")
    if feedback.verdict.useful:
        return Outcome(job, "skipped: the verdict is useful")
    if job.step is Step.EXPLAIN:
        return _explain(job, record, store, llm, settings, queue, now)
    return _correct(job, record, store, llm, settings, now)


def _explain(
    job: Job,
    record: InteractionRecord,
    store: LearningStore,
    llm: Llm,
    settings: LlmSettings,
    queue: JobQueue,
    now: datetime,
) -> Outcome:
    previous = record.explanation
    result = "already done"
    if previous is None or previous.revision < job.revision:
        known = sorted({*KNOWN_CATEGORIES, *store.known_categories()})
        output, usage = llm.structured(
            explain_messages(record.interaction, record.feedback, known),
            model=settings.draft_model,
            output=FailureExplanation,
        )
        explanation = Explanation(
            interaction_id=job.interaction_id,
            revision=job.revision,
            explanation=output.explanation.strip(),
            failure_category=merge_category(output.failure_category, known),
            topic=record.interaction.topic or detect_topic(record.interaction.message, output.topic or None),
            model=usage.model,
            created_at=now,
            tokens=usage.prompt_tokens + usage.completion_tokens,
            cost_usd=settings.cost_usd(usage.model, usage.prompt_tokens, usage.completion_tokens),
        )
        result = "done" if store.save_explanation(record.interaction, explanation, previous) else "already done"
    # Queue the correction even when the explanation was already there: a crash may have come in between,
    # and the correction is idempotent on its own key.
    if record.feedback is not None and record.feedback.agent_reply:
        queue.send(Job(job.interaction_id, Step.CORRECT, job.revision))
    return Outcome(job, result)


def _why(
    job: Job, record: InteractionRecord, store: LearningStore, llm: Llm, settings: LlmSettings, now: datetime
) -> Outcome:
    output, usage = llm.structured(why_messages(record.interaction), model=settings.draft_model, output=WhyOutput)
    store.save_why(WhyThisReply(job.interaction_id, output.tone, output.content, output.helpfulness, usage.model, now))
    return Outcome(job, "done")


def _correct(
    job: Job, record: InteractionRecord, store: LearningStore, llm: Llm, settings: LlmSettings, now: datetime
) -> Outcome:
    if record.improvement is not None and record.improvement.revision >= job.revision:
        return Outcome(job, "already done")
    interaction, feedback = record.interaction, record.feedback
    agent_reply = feedback.agent_reply if feedback else None
    explanation = record.explanation.explanation if record.explanation else None
    corrected, usage = llm.structured(
        correct_messages(interaction, feedback, explanation), model=settings.draft_model, output=CorrectedReply
    )

    calls = [usage]

    def judge(reply: str) -> Score:
        scores, judged = llm.structured(
            judge_messages(interaction.message, reply, agent_reply), model=settings.draft_model, output=JudgeScores
        )
        calls.append(judged)
        return _score(scores)

    # The three judgements are independent: run them at once.
    with ThreadPoolExecutor(max_workers=3) as pool:
        original_future, corrected_future = (
            pool.submit(judge, interaction.ai_reply),
            pool.submit(judge, corrected.reply),
        )
        agent_future = pool.submit(judge, agent_reply) if agent_reply else None
        original_score, corrected_score = original_future.result(), corrected_future.result()
        agent_score = agent_future.result() if agent_future else None
    rejected = None
    if near_copy(corrected.reply, agent_reply):
        rejected = "near-copy of the agent's reply"
    elif corrected_score.overall <= original_score.overall:
        rejected = "not better than the original reply"
    improvement = Improvement(
        interaction_id=job.interaction_id,
        revision=job.revision,
        original_reply=interaction.ai_reply,
        corrected_reply=corrected.reply.strip(),
        rationale=corrected.rationale.strip(),
        original_score=original_score,
        corrected_score=corrected_score,
        agent_score=agent_score,
        score_gain_estimate=round(corrected_score.overall - original_score.overall, 3),
        failure_category=record.explanation.failure_category if record.explanation else None,
        prompt_id=f"{interaction.assistant_version}/{interaction.prompt_name or 'external'}"
        + (f"@v{interaction.prompt_version}" if interaction.prompt_version else ""),
        model=usage.model,
        created_at=now,
        rejected_reason=rejected,
        message=interaction.message,
        tokens=sum(c.prompt_tokens + c.completion_tokens for c in calls),
        cost_usd=sum(settings.cost_usd(c.model, c.prompt_tokens, c.completion_tokens) for c in calls),
    )
    return Outcome(job, "done" if store.save_improvement(interaction, improvement) else "already done")


def request_job(
    store: Store, queue: JobQueue, interaction_id: str, step: Step, charge: Callable[[Spend], None] | None = None
) -> Job:
    """An agent's "Why this reply?" or "Generate Improved Reply": charged to `charge`, queued, and where to look."""
    record = store.get_record(interaction_id)
    if record is None:
        raise NotFoundError(f"No interaction with id {interaction_id!r}.")
    revision = record.feedback.revision if record.feedback else 0
    if step is Step.CORRECT and (record.feedback is None or record.feedback.verdict.useful):
        raise InvalidRequestError("An improved reply needs a 'not useful' verdict first (ideally with your reply).")
    job = Job(interaction_id, step, revision)
    if charge is not None:
        charge(Spend.IMPROVE if step is Step.CORRECT else Spend.WHY)
    queue.send(job)
    return job


def leaderboard(
    store: LearningStore, category: str | None, start: date | None, end: date | None, limit: int
) -> list[Improvement]:
    """Kept improvements, highest estimated score gain first (categories are matched in lower case)."""
    check_range(start, end)
    return store.leaderboard(category.lower() if category else None, start, end, limit)
