"""The weekly retrain: run states, the compile trainer's compiler and the promotion rule (all pure).

The `compile` trainer (formerly `prompt`) compiles a retrained prompt version from what the export saw: improvement
notes summarised from the failure explanations, guidance per failure category, and the best
corrected replies as few-shot exemplars - the top ones per category by the judge's score gain,
deduplicated, new ones first, within a token budget. It works with any model.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from replyloop.domain.prompts import Exemplar
from replyloop.domain.stress import CaseResult, summarise
from replyloop.domain.training import FailedReply, dedupe_key, topic_key

LESSONS_HEADING = "Lessons from agents' corrections:"
EXEMPLARS_PER_CATEGORY = 3
NOTES_PER_CATEGORY = 3
DEFAULT_EXEMPLAR_TOKEN_BUDGET = 1_500


class RunStatus(StrEnum):
    RUNNING = "running"
    AWAITING_APPROVAL = "awaiting_approval"  # passed the gate; a person approves or rejects it
    PROMOTED = "promoted"
    NOT_PROMOTED = "not_promoted"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"  # too few held-out cases to judge the candidate
    EXPIRED = "expired"  # nobody approved or rejected it in time
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL)


GROUP_SEPARATOR = "\x1f"  # between a failure category and a topic in `PromptMaterial.exemplars` keys


@dataclass(slots=True)
class PromptMaterial:
    """What the prompt trainer needs, bounded by the number of categories (not of rows)."""

    category_counts: Counter[str] = field(default_factory=Counter)
    notes: dict[str, list[str]] = field(default_factory=dict)
    exemplars: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, row: FailedReply) -> None:
        """Take one (already redacted) training row into account."""
        category = row.failure_category or "uncategorised"
        self.category_counts[category] += 1
        if row.explanation:
            notes = self.notes.setdefault(category, [])
            sentence = first_sentence(row.explanation)
            if sentence and sentence not in notes and len(notes) < NOTES_PER_CATEGORY:
                notes.append(sentence)
        reply = row.preferred_reply
        if not reply:
            return
        # Exemplars are kept per category *and topic*: the best corrections of one topic must not crowd
        # out every other topic's, or the prompt only learns to answer one kind of question.
        candidates = self.exemplars.setdefault(f"{category}{GROUP_SEPARATOR}{topic_key(row.topic)}", [])
        gain = row.score_gain if row.score_gain is not None else 0.0
        if any(c["message"] == row.message for c in candidates):
            return
        candidates.append({"message": row.message, "reply": reply, "gain": gain, "interactionId": row.interaction_id})
        candidates.sort(key=lambda c: (-c["gain"], c["interactionId"]))
        del candidates[EXEMPLARS_PER_CATEGORY:]

    def to_json(self) -> dict[str, Any]:
        return {"categoryCounts": dict(self.category_counts), "notes": self.notes, "exemplars": self.exemplars}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PromptMaterial:
        return cls(
            category_counts=Counter({str(k): int(v) for k, v in (data.get("categoryCounts") or {}).items()}),
            notes={str(k): [str(n) for n in v] for k, v in (data.get("notes") or {}).items()},
            exemplars={
                str(k): [{**c, "gain": float(c["gain"])} for c in v] for k, v in (data.get("exemplars") or {}).items()
            },
        )


_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)", re.DOTALL)


def first_sentence(text: str, limit: int = 240) -> str:
    found = _SENTENCE.match(text.strip())
    sentence = (found.group(1) if found else text.strip())[:limit]
    return " ".join(sentence.split())


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def base_text(text: str) -> str:
    """The prompt's own instructions, without lessons an earlier retrain appended."""
    return text.split(LESSONS_HEADING, 1)[0].rstrip()


@dataclass(frozen=True, slots=True)
class CompiledPrompt:
    text: str
    improvement_notes: str
    exemplars: tuple[Exemplar, ...]


def compile_prompt(
    previous_text: str,
    previous_exemplars: Iterable[Exemplar],
    material: PromptMaterial,
    *,
    token_budget: int = DEFAULT_EXEMPLAR_TOKEN_BUDGET,
) -> CompiledPrompt:
    """The retrained prompt: the base instructions, lessons per category, and the best exemplars."""
    ranked = [category for category, _ in material.category_counts.most_common()]
    lessons = []
    for category in ranked:
        found = material.notes.get(category) or []
        detail = " ".join(found) if found else "Agents corrected replies of this kind."
        lessons.append(f"- {category} ({material.category_counts[category]} failed replies): {detail}")
    text = base_text(previous_text)
    if lessons:
        text = f"{text}\n\n{LESSONS_HEADING}\n" + "\n".join(lessons)

    chosen: list[Exemplar] = []
    seen: set[bytes] = set()
    spent = 0
    # Round-robin over categories (most frequent first) and their topics, best gain first, then the old exemplars.
    rank = {category: index for index, category in enumerate(ranked)}
    groups = sorted(material.exemplars, key=lambda g: (rank.get(g.split(GROUP_SEPARATOR)[0], len(rank)), g))
    queues = [list(material.exemplars[group]) for group in groups]
    fresh = [queue.pop(0) for _ in range(EXEMPLARS_PER_CATEGORY) for queue in queues if queue]
    pool = [Exemplar(c["message"], c["reply"]) for c in fresh] + list(previous_exemplars)
    for exemplar in pool:
        key = dedupe_key(exemplar.message, "")
        cost = _tokens(exemplar.message) + _tokens(exemplar.reply)
        if key in seen or spent + cost > token_budget:
            continue
        seen.add(key)
        chosen.append(exemplar)
        spent += cost
    notes = (
        f"Retrained from {sum(material.category_counts.values())} failed replies in "
        f"{len(ranked)} failure categories; {len(fresh)} new exemplars considered, "
        f"{len(chosen)} kept within {token_budget} tokens."
    )
    if ranked:
        notes += " Top categories: " + ", ".join(ranked[:5]) + "."
    return CompiledPrompt(text=text, improvement_notes=notes, exemplars=tuple(chosen))


BOOTSTRAP_RESAMPLES = 2_000
DEFAULT_MIN_EVAL_CASES = 30


def paired_bootstrap(
    gains: list[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: str = ""
) -> tuple[float, float]:
    """The 95% percentile interval of the mean of per-case gains (candidate minus incumbent, same case).

    Cases are resampled with replacement `resamples` times from a generator seeded by `seed` (the run
    id), so a run's interval is reproducible. Pairing keeps each case's difficulty out of the noise.
    """
    if not gains:
        raise ValueError("No gains to resample")
    generator = random.Random(f"bootstrap:{seed}")
    count = len(gains)
    means = sorted(sum(generator.choices(gains, k=count)) / count for _ in range(resamples))
    low, high = means[int(0.025 * resamples)], means[min(resamples - 1, int(0.975 * resamples))]
    return round(low, 3), round(high, 3)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the gate saw: the held-out cases, both means, the paired gain and its interval."""

    case_ids: tuple[str, ...]
    cases: int
    candidate_mean: float | None
    incumbent_mean: float | None
    gain: float | None
    ci95: tuple[float, float] | None
    wins: int
    losses: int
    ties: int
    loss_share: float
    worst_regressions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "caseIds": list(self.case_ids),
            "cases": self.cases,
            "candidateMean": self.candidate_mean,
            "incumbentMean": self.incumbent_mean,
            "gain": self.gain,
            "ci95": list(self.ci95) if self.ci95 else None,
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "lossShare": round(self.loss_share, 3),
            "worstRegressions": list(self.worst_regressions),
        }


def evidence_of(results: list[CaseResult], *, seed: str) -> Evidence:
    summary = summarise(results)
    gains = [result.candidate_score - result.baseline_score for result in results]
    return Evidence(
        case_ids=tuple(result.case_id for result in results),
        cases=summary.cases,
        candidate_mean=summary.candidate_mean,
        incumbent_mean=summary.baseline_mean,
        gain=round(sum(gains) / len(gains), 3) if gains else None,
        ci95=paired_bootstrap(gains, seed=seed) if gains else None,
        wins=summary.wins,
        losses=summary.losses,
        ties=summary.ties,
        loss_share=summary.loss_share,
        worst_regressions=tuple(result.case_id for result in summary.worst_regressions),
    )


class Outcome(StrEnum):
    PASSED = "passed"
    NOT_PROMOTED = "not_promoted"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    reason: str

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED


def decide(evidence: Evidence, *, margin: float, max_loss_share: float, min_cases: int) -> Decision:
    """The gate: enough held-out cases, a mean gain of at least `margin` whose 95% interval is above 0,
    and losses on no more than `max_loss_share` of the cases."""
    if evidence.cases < min_cases or evidence.gain is None or evidence.ci95 is None:
        return Decision(
            Outcome.INSUFFICIENT_EVIDENCE,
            f"Only {evidence.cases} held-out cases were scored (at least {min_cases} needed); the incumbent stays.",
        )
    low, high = evidence.ci95
    figures = (
        f"candidate {evidence.candidate_mean} vs incumbent {evidence.incumbent_mean} over {evidence.cases} "
        f"held-out queries, gain {evidence.gain} (95% interval {low} to {high}; {evidence.wins} wins, "
        f"{evidence.losses} losses, {evidence.ties} ties)"
    )
    if evidence.gain < margin:
        return Decision(Outcome.NOT_PROMOTED, f"The candidate did not win by the margin {margin}: {figures}.")
    if low <= 0:
        return Decision(Outcome.NOT_PROMOTED, f"The gain is not significant (the interval reaches 0): {figures}.")
    if evidence.loss_share > max_loss_share:
        return Decision(
            Outcome.NOT_PROMOTED,
            f"The candidate lost on {evidence.loss_share:.0%} of queries (limit {max_loss_share:.0%}): {figures}.",
        )
    return Decision(Outcome.PASSED, f"The candidate won by {evidence.gain}: {figures}.")
