"""Drafting: the reply of the prompt exemplar nearest the customer's message, and its logprobs.

A bag-of-words cosine picks the `<example>` whose customer message is nearest the new one; the
token logprobs carry that similarity, so better exemplars give better, more confident drafts. With
no exemplar near, the model writes a generic holding reply with low confidence.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

MODEL_NAME = "replyloop-offline"
EXAMPLE_PATTERN = re.compile(
    r"<example>\s*<customer_message>\s*(.*?)\s*</customer_message>\s*<reply>\s*(.*?)\s*</reply>\s*</example>",
    re.DOTALL,
)
CUSTOMER_PATTERN = re.compile(r"<customer_message>\s*(.*?)\s*</customer_message>", re.DOTALL)
WORD = re.compile(r"[a-z0-9']+")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "to",
        "of",
        "in",
        "on",
        "for",
        "with",
        "at",
        "by",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "this",
        "that",
        "my",
        "your",
        "i",
        "you",
        "we",
        "me",
        "our",
        "us",
        "can",
        "could",
        "would",
        "will",
        "please",
        "hi",
        "hello",
        "thanks",
        "thank",
        "just",
        "so",
        "do",
        "did",
        "not",
        "no",
    ]
)
GENERIC_REPLY = (
    "Thanks for reaching out, and sorry for the trouble. I'm looking into this now and will get back "
    "to you with an answer as soon as possible."
)
GENERIC_CONFIDENCE = 0.2
MIN_PROBABILITY = 0.02


def words(text: str) -> Counter[str]:
    return Counter(w for w in WORD.findall(text.lower()) if w not in STOPWORDS)


def cosine(left: Counter[str], right: Counter[str]) -> float:
    if not left or not right:
        return 0.0
    dot = sum(count * right[word] for word, count in left.items())
    norm = math.sqrt(sum(c * c for c in left.values())) * math.sqrt(sum(c * c for c in right.values()))
    return dot / norm if norm else 0.0


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):  # content parts
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content or "")


def draft_reply(messages: list[dict[str, Any]], extra: list[tuple[str, str]] | None = None) -> tuple[str, float]:
    """The nearest exemplar's reply and how near it was (0-1); `extra` are fine-tuning examples."""
    prompt = "\n".join(message_text(m) for m in messages if m.get("role") in ("system", "developer"))
    users = [message_text(m) for m in messages if m.get("role") == "user"]
    last_user = users[-1] if users else ""
    found = CUSTOMER_PATTERN.findall(last_user)
    customer = found[-1] if found else last_user
    target = words(customer)
    best_reply, best_score = GENERIC_REPLY, 0.0
    examples = EXAMPLE_PATTERN.findall(prompt + "\n" + "\n".join(users[:-1])) + list(extra or [])
    for example_message, example_reply in examples:
        score = cosine(target, words(example_message))
        if score > best_score:
            best_reply, best_score = example_reply.strip(), score
    if best_score < GENERIC_CONFIDENCE:
        return GENERIC_REPLY, GENERIC_CONFIDENCE
    return best_reply, best_score


def split_tokens(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


def token_logprobs(tokens: list[str], probability: float) -> list[dict[str, Any]]:
    """Per-token logprobs whose geometric mean is `probability` (a small, deterministic wobble)."""
    base = math.log(max(MIN_PROBABILITY, min(probability, 0.999)))
    wobble = [0.05 * math.sin(i) for i in range(len(tokens))]
    mean_wobble = sum(wobble) / len(wobble) if wobble else 0.0
    return [
        {
            "token": token,
            "logprob": min(0.0, base + w - mean_wobble),
            "bytes": list(token.encode()),
            "top_logprobs": [],
        }
        for token, w in zip(tokens, wobble, strict=True)
    ]


def count_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(split_tokens(message_text(m))) for m in messages)
