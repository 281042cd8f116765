"""Per-user quota counters in the data table (the `Quotas` port): `QUOTA#<principal>` / `HOUR#<yyyy-mm-ddThh>`.

One conditional `UpdateItem` per charge: `ADD calls` only while the hour's total stays within the limit, so
concurrent requests of one user can never overspend. Items expire with the table's TTL (`expiresAt`) a day
after their hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from replyloop.adapters.storage import ConditionFailed
from replyloop.adapters.table import DynamoTable
from replyloop.domain.quota import LLM_CALLS, QuotaPolicy, Spend


class DynamoQuotas(DynamoTable):
    def __init__(self, table_name: str, *, retention_days: int = 0, policy: QuotaPolicy) -> None:
        super().__init__(table_name, retention_days=retention_days)
        self.policy = policy

    def spend(self, principal: str, spend: Spend, now: datetime) -> None:
        if not self.policy.calls_per_hour:
            return
        calls = LLM_CALLS[spend]
        hour, _ = self.policy.window(now)
        expires = int((now.replace(minute=0, second=0, microsecond=0) + timedelta(days=1, hours=1)).timestamp())
        try:
            self._call(
                self._table.update_item,
                Key={"pk": f"QUOTA#{principal}", "sk": f"HOUR#{hour}"},
                UpdateExpression="ADD calls :n SET expiresAt = if_not_exists(expiresAt, :expires)",
                ConditionExpression="attribute_not_exists(calls) OR calls <= :room",
                ExpressionAttributeValues={
                    ":n": calls,
                    ":room": self.policy.calls_per_hour - calls,
                    ":expires": expires,
                },
            )
        except ConditionFailed:
            raise self.policy.exceeded(spend, now) from None
