"""What redaction returns, and the kinds of personal data it knows (`adapters/redaction.py` finds them)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Redaction:
    text: str
    """The text with each span of personal data replaced by its kind's placeholder."""
    removed: dict[str, int]
    """Kind -> how many spans of that kind were replaced; only kinds that occurred."""
    names: tuple[str, ...] = field(default=(), compare=False)
    """The words of each name found (e.g. a customer's first name), to redact where they recur."""


KINDS = ("email", "phone", "card", "iban", "national_id", "ip", "date_of_birth", "address", "name")
PLACEHOLDERS = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "card": "[CARD]",
    "iban": "[IBAN]",
    "national_id": "[NATIONAL_ID]",
    "ip": "[IP]",
    "date_of_birth": "[DATE_OF_BIRTH]",
    "address": "[ADDRESS]",
    "name": "[NAME]",
}
