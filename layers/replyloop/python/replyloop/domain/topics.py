"""Cheap topic detection: keywords, no model call.

The first topic whose keywords appear most often in the message wins; ties go to the order below.
A topic the caller supplies always wins. Unknown messages are `general`.
"""

from __future__ import annotations

import re

from replyloop.domain.text import bounded_label

TOPIC_KEYWORDS: dict[str, tuple[str, ...]] = {
    "billing": (
        "charge",
        "charged",
        "invoice",
        "bill",
        "billing",
        "price",
        "plan",
        "subscription",
        "card",
        "payment",
    ),
    "refunds": ("refund", "return", "returned", "money back", "reimburse"),
    "shipping": ("order", "delivery", "delivered", "shipping", "parcel", "package", "tracking", "arrive"),
    "account": ("login", "log in", "password", "reset", "account", "sign in", "locked", "email change"),
    "technical": ("crash", "crashes", "error", "bug", "app", "broken", "not working", "freeze", "update"),
}
DEFAULT_TOPIC = "general"


def detect_topic(message: str, given: str | None = None) -> str:
    label = bounded_label(given.lower()) if given else None  # a model's or caller's word: bounded, no markup
    if label:
        return label
    text = message.lower()
    scores = {
        topic: sum(len(re.findall(rf"\b{re.escape(keyword)}\b", text)) for keyword in keywords)
        for topic, keywords in TOPIC_KEYWORDS.items()
    }
    best = max(scores.values())
    return next(topic for topic, score in scores.items() if score == best) if best else DEFAULT_TOPIC
