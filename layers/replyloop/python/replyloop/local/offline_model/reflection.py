"""The offline model's answer to the gepa trainer's reflection prompt (`domain.gepa.REFLECTION_TEMPLATE`).

Deterministic, and able to change what the offline model drafts: it keeps the current prompt, folds
each example's lesson in (its failure category and the first sentence of the explanation, under
"Lessons from agents' corrections:") and, for every example the draft scored below 0.9 on, adds the
agent's reply as an `<example>` - which is what the offline drafting model reads (`drafting.py`). So a
GEPA iteration offline really changes drafts, and GEPA's own scores decide whether the change is kept.
A real model writes guidance instead; offline numbers show the plumbing, not model quality.
"""

from __future__ import annotations

import re

from replyloop.local.offline_model.structured import tag

LESSONS_HEADING = "Lessons from agents' corrections:"  # as `domain.retrain` writes it
MAX_EXAMPLES = 12  # examples folded into one prompt, newest kept
GOOD_ENOUGH = 0.9
FOLDED_HEADING = "Replies agents preferred:"
CURRENT = re.compile(r"<current_prompt>\s*(.*?)\s*</current_prompt>", re.DOTALL)
EXAMPLES = re.compile(r"<examples_with_feedback>(.*)</examples_with_feedback>", re.DOTALL)
FOLDED_EXAMPLE = re.compile(r"<example>.*?</example>", re.DOTALL)
SCORE = re.compile(r"Score: ([0-9.]+) of 1")
CATEGORY = re.compile(r"Failure category of the original AI reply: (.+?)\.\n")


def is_reflection(text: str) -> bool:
    return "<current_prompt>" in text and "<examples_with_feedback>" in text


def _first_sentence(text: str) -> str:
    found = re.match(r"(.+?[.!?])(\s|$)", text.strip(), re.DOTALL)
    return " ".join((found.group(1) if found else text.strip()).split())[:200]


def reflect(prompt: str) -> str:
    """The new system prompt, within ``` blocks as GEPA extracts it."""
    found = CURRENT.search(prompt)
    current = found.group(1).strip() if found else ""
    examples_block = EXAMPLES.search(prompt)
    examples = re.split(r"^# Example \d+\s*$", examples_block.group(1), flags=re.MULTILINE) if examples_block else []
    folded = FOLDED_EXAMPLE.findall(current)
    stripped = FOLDED_EXAMPLE.sub("", current).replace(FOLDED_HEADING, "")
    base, _, lessons_part = stripped.partition(LESSONS_HEADING)
    base = base.strip()
    lessons = [line for line in lessons_part.strip().splitlines() if line.startswith("- ")]
    for example in examples:
        category = CATEGORY.search(example)
        explanation = tag("explanation", example)
        if category and explanation:
            lesson = f"- {category.group(1)}: {_first_sentence(explanation)}"
            if lesson not in lessons:
                lessons.append(lesson)
        score = SCORE.search(example)
        message, reply = tag("customer_message", example), tag("agent_reply", example)
        if message and reply and (score is None or float(score.group(1)) < GOOD_ENOUGH):
            block = "\n".join(
                ["<example>", "<customer_message>", message, "</customer_message>", "<reply>", reply, "</reply>"]
            )
            block += "\n</example>"
            if block not in folded:
                folded.append(block)
    parts = [base]
    if lessons:
        parts.append(LESSONS_HEADING + "\n" + "\n".join(lessons))
    if folded:
        parts.append(FOLDED_HEADING + "\n" + "\n".join(folded[-MAX_EXAMPLES:]))
    return "```\n" + "\n\n".join(part for part in parts if part) + "\n```"
