from __future__ import annotations

from datetime import date

from replyloop.domain.analytics import summarise
from replyloop.domain.entities import DailyStats


def test_summary_fills_quiet_days_and_sums_the_window():
    stats = [
        DailyStats(day=date(2026, 11, 1), total=4, useful=3, not_useful=1, overrides=1, interactions=5),
        DailyStats(day=date(2026, 11, 3), total=2, useful=0, not_useful=2, overrides=2, interactions=2),
        DailyStats(day=date(2026, 10, 30), total=9, useful=9),  # outside the window
    ]
    summary = summarise(stats, date(2026, 11, 1), date(2026, 11, 4))
    assert [d.day.day for d in summary.days] == [1, 2, 3, 4]
    assert [d.total for d in summary.days] == [4, 0, 2, 0]
    assert (summary.total, summary.useful, summary.not_useful, summary.overrides) == (6, 3, 3, 3)
    assert summary.useful_rate == 0.5
    assert summary.override_rate == 0.5


def test_empty_window_has_no_rates():
    summary = summarise([], date(2026, 11, 1), date(2026, 11, 1))
    assert summary.total == 0
    assert summary.useful_rate is None
    assert summary.override_rate is None
