"""Key and timestamp formats shared by every item of the data table (docs/data-model.md)."""

from __future__ import annotations

import zlib
from datetime import date

from replyloop.domain.clock import format_timestamp, parse_timestamp

__all__ = [
    "COUNTER_SHARDS",
    "INTERACTION_PREFIX",
    "counter_shard",
    "customer_key",
    "day_of_sk",
    "day_range_sks",
    "day_sk",
    "format_timestamp",
    "interaction_pk",
    "parse_timestamp",
    "shard_day_sk",
    "verdict_sk",
]

# Day counters are written to one of this many items per day (the shard is in the sort key), so
# concurrent captures rarely update the same item. Changing it is safe: reads sum every item of a day
# whatever its shard (docs/data-model.md, "Counter shards"; docs/decisions.md #22).
COUNTER_SHARDS = 16


INTERACTION_PREFIX = "INTERACTION#"


def interaction_pk(interaction_id: str) -> str:
    return f"{INTERACTION_PREFIX}{interaction_id}"


def customer_key(customer_id: str) -> str:
    """The `customer` index's partition: every interaction recorded with this customer id."""
    return f"CUSTOMER#{customer_id}"


VERDICT_SK_PREFIX = "VERDICT#"


def verdict_sk(revision: int) -> str:
    """One verdict revision of the interaction's history; zero-padded so the partition sorts oldest first."""
    return f"{VERDICT_SK_PREFIX}{revision:06d}"


def day_sk(day: date) -> str:
    """A day's unsharded sort key (category days, and stats items written before counters were sharded)."""
    return f"DAY#{day.isoformat()}"


def counter_shard(interaction_id: str) -> int:
    """The interaction's counter shard: stable across processes, so a changed verdict moves counts within it."""
    return zlib.crc32(interaction_id.encode()) % COUNTER_SHARDS


def shard_day_sk(day: date, shard: int) -> str:
    return f"{day_sk(day)}#S{shard:02d}"


def day_range_sks(start: date, end: date) -> tuple[str, str]:
    """`sk BETWEEN` bounds covering every item of the days `start`..`end`, sharded (`DAY#d#Snn`) or not (`DAY#d`)."""
    return day_sk(start), f"{day_sk(end)}#~"


def day_of_sk(sk: str) -> date:
    """The day of `DAY#<yyyy-mm-dd>` or `DAY#<yyyy-mm-dd>#S<nn>`."""
    return date.fromisoformat(sk.removeprefix("DAY#")[:10])
