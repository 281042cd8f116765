"""Untrusted text inside prompts."""

from __future__ import annotations

import re

# Anything a model might read as a tag: `<`, optional spaces and `/`, a letter. Case and spacing vary
# (`</Customer_Message>`, `< /customer_message >`), so every such opening is neutralised, not one spelling.
TAG_LIKE = re.compile(r"<(?=\s*/?\s*[A-Za-z])")
MAX_LABEL = 64
LABEL_UNSAFE = re.compile(r"[^\w .,&/'-]+")


def delimit(tag: str, text: str) -> list[str]:
    """Wrap untrusted text in <tag>...</tag>; no tag-like sequence inside it survives as one."""
    return [f"<{tag}>", TAG_LIKE.sub("&lt;", text), f"</{tag}>"]


def bounded_label(text: str | None, limit: int = MAX_LABEL) -> str | None:
    """A short label that goes into prompts and keys (a topic, a failure category): single-spaced, no
    markup or control characters, at most `limit` characters; None when nothing is left."""
    if text is None:
        return None
    cleaned = " ".join(LABEL_UNSAFE.sub(" ", text).split())[:limit].strip()
    return cleaned or None
