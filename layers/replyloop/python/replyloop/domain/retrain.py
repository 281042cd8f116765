"""The weekly retrain: run states, the prompt trainer's compiler and the promotion rule (all pure).

The `prompt` trainer compiles a retrained prompt version from what the export saw: improvement
notes summarised from the failure explanations, guidance per failure category, and the best
corrected replies as few-shot exemplars - the top ones per category by the judge's score gain,
deduplicated, new ones first, within a token budget. It works with any model.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from replyloop.domain.prompts import Exemplar
from replyloop.domain.stress import StressSummary
from replyloop.domain.training import FailedReply, dedupe_key

LESSONS_HEADING = "Lessons from agents' corrections:"
EXEMPLARS_PER_CATEGORY = 3
NOTES_PER_CATEGORY = 3
DEFAULT_EXEMPLAR_TOKEN_BUDGET = 1_500


class RunStatus(StrEnum):
    RUNNING = "running"
    PROMOTED = "promoted"
    NOT_PROMOTED = "not_promoted"
    SKIPPED = "skipped"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self is not RunStatus.RUNNING


class TrainerName(StrEnum):
    PROMPT = "prompt"
    OPENAI = "openai"


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
        candidates = self.exemplars.setdefault(category, [])
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
    # Round-robin over categories (most frequent first), best gain first, then the old exemplars.
    queues = [list(material.exemplars.get(category) or []) for category in ranked]
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


@dataclass(frozen=True, slots=True)
class Decision:
    promote: bool
    reason: str


def decide(summary: StressSummary, *, margin: float, max_loss_share: float) -> Decision:
    """Promote only when the candidate beats the incumbent by `margin` and loses rarely enough."""
    if summary.cases == 0 or summary.baseline_mean is None or summary.candidate_mean is None:
        return Decision(False, "No evaluation cases were scored; the incumbent stays.")
    gain = round(summary.candidate_mean - summary.baseline_mean, 3)
    figures = (
        f"candidate {summary.candidate_mean} vs incumbent {summary.baseline_mean} "
        f"over {summary.cases} queries ({summary.wins} wins, {summary.losses} losses, {summary.ties} ties)"
    )
    if gain < margin:
        return Decision(False, f"The candidate did not win by the margin {margin}: {figures}.")
    if summary.loss_share > max_loss_share:
        return Decision(
            False, f"The candidate lost on {summary.loss_share:.0%} of queries (limit {max_loss_share:.0%}): {figures}."
        )
    return Decision(True, f"The candidate won by {gain}: {figures}.")
