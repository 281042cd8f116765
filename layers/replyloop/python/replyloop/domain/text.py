"""Untrusted text inside prompts."""

from __future__ import annotations


def delimit(tag: str, text: str) -> list[str]:
    """Wrap untrusted text in <tag>...</tag>, neutralising any copy of the tags inside it."""
    inner = text.replace(f"<{tag}>", f"&lt;{tag}&gt;").replace(f"</{tag}>", f"&lt;/{tag}&gt;")
    return [f"<{tag}>", inner, f"</{tag}>"]
