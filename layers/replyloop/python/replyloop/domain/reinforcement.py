"""Reinforcement fine-tuning (RFT) with the judge as grader, mapped from OpenAI's documented API (pure).

A line is the drafting input without the answer - the prompt's system message and the customer's message,
the last message the user's - plus the fields the grader reads: the customer's message and the preferred
reply (`item.customer_message`, `item.reference_reply`). The grader is a `score_model` grader: the same
rubric as replyloop's judge (`domain.learning.judge_messages`) scoring the sampled reply
(`sample.output_text`) against the preferred reply, one number from 1 to 10. What OpenAI accepts here
(which base models take RFT, which models may grade) is not verifiable offline: docs/retrain.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from replyloop.domain.learning import judge_messages
from replyloop.domain.prompts import PromptVersion
from replyloop.domain.training import DEFAULT_MAX_EXAMPLE_TOKENS, _messages_problem, training_messages

GRADER_NAME = "replyloop-judge"
SCORE_RANGE = (1.0, 10.0)
LINE_KEYS = frozenset({"messages", "customer_message", "reference_reply"})


def rft_example(prompt: PromptVersion, message: str, preferred: str) -> dict[str, Any]:
    return {
        "messages": training_messages(prompt, message),
        "customer_message": message,
        "reference_reply": preferred,
    }


def validate_rft(example: Any, max_tokens: int = DEFAULT_MAX_EXAMPLE_TOKENS) -> str | None:
    """Why an RFT line is unusable: OpenAI's chat rules, the user's message last, and the grader's fields."""
    if not isinstance(example, Mapping) or set(example) != LINE_KEYS:
        return "not an object with 'messages', 'customer_message' and 'reference_reply'"
    problem = _messages_problem(example["messages"], max_tokens, needs_assistant=False)
    if problem:
        return problem
    if example["messages"][-1]["role"] != "user":
        return "the last message is not the user's"
    for key in ("customer_message", "reference_reply"):
        if not isinstance(example[key], str) or not example[key].strip():
            return f"{key} is empty"
    return None


def judge_grader(model: str) -> dict[str, Any]:
    """The judge as a `score_model` grader, templated on the line's fields and the sampled reply."""
    messages = judge_messages("{{item.customer_message}}", "{{sample.output_text}}", "{{item.reference_reply}}")
    messages[0]["content"] += " Answer with the overall score only: one number from 1 to 10."
    return {
        "type": "score_model",
        "name": GRADER_NAME,
        "model": model,
        "input": [{"role": m["role"], "content": m["content"]} for m in messages],
        "range": list(SCORE_RANGE),
    }
