"""Key and timestamp formats shared by every item of the data table (docs/data-model.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def format_timestamp(moment: datetime) -> str:
    """UTC, microseconds, `Z`: sorts as text in time order."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def interaction_pk(interaction_id: str) -> str:
    return f"INTERACTION#{interaction_id}"


def day_sk(day: date) -> str:
    return f"DAY#{day.isoformat()}"
