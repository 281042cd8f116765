"""Training data: OpenAI fine-tuning lines built from failed interactions, validated, split and deduplicated.

One failed interaction (verdict "no") becomes
- a supervised (SFT) chat example: the drafting prompt's system message, the customer's message,
  and the preferred reply as the assistant's answer, and
- a preference (DPO) pair: the same input, the preferred reply as `preferred_output` and the AI
  reply the agent rejected as `non_preferred_output`.
The preferred reply is the kept correction when there is one (it matches the agent's tone without
copying it), else the agent's own reply.

Validation follows OpenAI's published rules for chat fine-tuning files: every line a JSON object
with `messages`; each message has a known `role` and only known keys; content is a non-empty
string; there is an assistant message to learn from; the example fits the per-example token limit;
a file has at least 10 examples. Tokens are estimated (4 characters a token, plus a few per message),
which errs on the generous side for English; the limit is configurable.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from replyloop.domain.prompts import PromptVersion, build_draft_messages

MIN_EXAMPLES = 10  # OpenAI refuses a fine-tuning file with fewer
DEFAULT_MAX_EXAMPLE_TOKENS = 65_536  # gpt-4o-mini's per-example training context
CHAT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
MESSAGE_KEYS = frozenset({"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"})
TOKENS_PER_MESSAGE = 4

Split = Literal["train", "validation", "holdout"]


@dataclass(frozen=True, slots=True)
class FailedReply:
    """One failed interaction, as the export reads it."""

    interaction_id: str
    message: str
    ai_reply: str
    agent_reply: str | None
    corrected_reply: str | None  # a kept correction; None when there is none (or it was rejected)
    failure_category: str | None
    explanation: str | None
    score_gain: float | None
    topic: str | None = None  # the interaction's topic, else the one the explain worker assigned
    version: str | None = None  # the assistant version that drafted it ("external": a frontend's reply)
    excluded_reason: str | None = None  # why the training policy keeps it out (None: it may train)

    @property
    def preferred_reply(self) -> str | None:
        return self.corrected_reply or self.agent_reply


TrainingPolicy = Literal["reviewed", "judged"]
ReviewStatus = Literal["pending", "approved", "rejected"]


@dataclass(frozen=True, slots=True)
class Earned:
    """What the training policy weighs about one failed reply: the judge's overall scores and who vouched."""

    original_score: float | None  # the AI reply, judged against the agent's reply
    preferred_score: float | None  # the preferred reply (kept correction, else the agent's reply)
    author: str | None  # who gave the verdict and wrote the agent reply
    author_is_reviewer: bool  # the author held the reviewer (or admin) role when they wrote it
    review: ReviewStatus = "pending"
    reviewed_by: str | None = None


def training_exclusion(policy: TrainingPolicy, earned: Earned) -> str | None:
    """Why the policy keeps this reply out of training, or None when it has earned its place.

    `judged`: the judge must score the preferred reply above the AI reply. `reviewed` (the default)
    adds a person: the author is a reviewer, or a *different* reviewer approved it. A reviewer's
    rejection excludes it under either policy.
    """
    if earned.review == "rejected":
        return "rejected by reviewer"
    if earned.original_score is None or earned.preferred_score is None:
        return "awaiting judge"
    if earned.preferred_score <= earned.original_score:
        return "judge disagreed"
    if policy == "judged" or earned.author_is_reviewer:
        return None
    if earned.review == "approved" and earned.reviewed_by and earned.reviewed_by != earned.author:
        return None
    return "awaiting review"


UNKNOWN_TOPIC = "unknown topic"


def topic_key(topic: str | None) -> str:
    """How failed replies are grouped for selection: the topic in lower case, single-spaced."""
    return " ".join((topic or "").lower().split())[:64] or UNKNOWN_TOPIC


def estimate_tokens(messages: Sequence[Mapping[str, Any]]) -> int:
    return sum(TOKENS_PER_MESSAGE + math.ceil(len(str(m.get("content") or "")) / 4) for m in messages)


def training_messages(prompt: PromptVersion, message: str) -> list[dict[str, str]]:
    """The input the model sees at inference: the prompt's text (without exemplars) and the message."""
    bare = PromptVersion(name=prompt.name, version=prompt.version, text=prompt.text, updated_at=prompt.updated_at)
    return build_draft_messages(bare, message)


def sft_example(prompt: PromptVersion, message: str, reply: str) -> dict[str, Any]:
    return {"messages": [*training_messages(prompt, message), {"role": "assistant", "content": reply}]}


def dpo_example(prompt: PromptVersion, message: str, preferred: str, rejected: str) -> dict[str, Any]:
    return {
        "input": {"messages": training_messages(prompt, message)},
        "preferred_output": [{"role": "assistant", "content": preferred}],
        "non_preferred_output": [{"role": "assistant", "content": rejected}],
    }


def _message_problem(message: Any, index: int) -> str | None:
    if not isinstance(message, Mapping):
        return f"message {index} is not an object"
    unknown = set(message) - MESSAGE_KEYS
    if unknown:
        return f"message {index} has unknown keys {sorted(unknown)}"
    if message.get("role") not in CHAT_ROLES:
        return f"message {index} has role {message.get('role')!r}"
    content = message.get("content")
    if not isinstance(content, str) or not content.strip():
        return f"message {index} has no content"
    return None


def _messages_problem(messages: Any, max_tokens: int, *, needs_assistant: bool) -> str | None:
    if not isinstance(messages, list) or not messages:
        return "no messages"
    for index, message in enumerate(messages):
        problem = _message_problem(message, index)
        if problem:
            return problem
    if needs_assistant and not any(m["role"] == "assistant" for m in messages):
        return "no assistant message"
    if estimate_tokens(messages) > max_tokens:
        return f"longer than {max_tokens} tokens"
    return None


def validate_sft(example: Any, max_tokens: int = DEFAULT_MAX_EXAMPLE_TOKENS) -> str | None:
    """Why OpenAI would refuse this chat example, or None when it is valid."""
    if not isinstance(example, Mapping) or set(example) - {"messages", "tools", "parallel_tool_calls"}:
        return "not an object with only 'messages'"
    return _messages_problem(example.get("messages"), max_tokens, needs_assistant=True)


def validate_dpo(example: Any, max_tokens: int = DEFAULT_MAX_EXAMPLE_TOKENS) -> str | None:
    """Why OpenAI would refuse this preference pair, or None when it is valid."""
    if not isinstance(example, Mapping) or set(example) != {"input", "preferred_output", "non_preferred_output"}:
        return "not an object with 'input', 'preferred_output' and 'non_preferred_output'"
    source = example["input"]
    problem = _messages_problem(
        source.get("messages") if isinstance(source, Mapping) else None, max_tokens, needs_assistant=False
    )
    if problem:
        return f"input: {problem}"
    for key in ("preferred_output", "non_preferred_output"):
        output = example[key]
        problem = _messages_problem(output, max_tokens, needs_assistant=True)
        if problem or len(output) != 1:
            return f"{key}: {problem or 'must be one assistant message'}"
    if example["preferred_output"][0]["content"].strip() == example["non_preferred_output"][0]["content"].strip():
        return "preferred and non-preferred outputs are the same"
    return None


_SPACE = re.compile(r"\s+")


def _normalise(text: str) -> str:
    return _SPACE.sub(" ", text.strip().lower())


def dedupe_key(message: str, reply: str) -> bytes:
    """Identical (message, reply) pairs - up to case and spacing - share a key."""
    return hashlib.blake2b(f"{_normalise(message)}\x00{_normalise(reply)}".encode(), digest_size=8).digest()


def message_digest(message: str) -> str:
    """The customer's message up to case and spacing, as 16 hex digits: what "the same message" means."""
    return hashlib.blake2b(_normalise(message).encode(), digest_size=8).hexdigest()


def split_of(message: str, validation_share: float, holdout_share: float = 0.0) -> Split:
    """Decided by the customer's message alone, so one message never lands in two splits.

    `holdout` (the first `holdout_share` of the digest space) is the retrain gate's evaluation set: no
    trainer sees it, not as training lines, validation lines nor exemplars. The split depends on the
    message only, so a message held out once is held out in every run with the same shares.
    """
    bucket = int(message_digest(message), 16) / 2**64
    if bucket < holdout_share:
        return "holdout"
    return "validation" if bucket < holdout_share + validation_share else "train"
