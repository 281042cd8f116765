"""Key and timestamp formats shared by every item of the data table (docs/data-model.md)."""

from __future__ import annotations

from datetime import date

from replyloop.domain.clock import format_timestamp, parse_timestamp

__all__ = ["day_sk", "format_timestamp", "interaction_pk", "parse_timestamp"]


def interaction_pk(interaction_id: str) -> str:
    return f"INTERACTION#{interaction_id}"


def day_sk(day: date) -> str:
    return f"DAY#{day.isoformat()}"
