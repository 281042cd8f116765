from datetime import UTC, datetime

from replyloop.domain.quota import QuotaPolicy, Spend


def test_the_window_is_the_clock_hour_and_retry_after_its_remaining_seconds():
    assert QuotaPolicy.window(datetime(2026, 12, 6, 21, 59, 30, 500, tzinfo=UTC)) == ("2026-12-06T21", 30)
    assert QuotaPolicy.window(datetime(2026, 12, 6, 22, 0, tzinfo=UTC)) == ("2026-12-06T22", 3600)
    error = QuotaPolicy(10).exceeded(Spend.IMPROVE, datetime(2026, 12, 6, 21, 50, tzinfo=UTC))
    assert error.retry_after_seconds == 600 and "10 model calls" in str(error) and "needs 4" in str(error)
