"""Per-user hourly quotas on the routes that spend model calls, against moto."""

from __future__ import annotations

from datetime import UTC, datetime

from replyloop import wiring
from tests.integration.test_erasure import no_verdict, record


def test_a_loop_of_improve_calls_meets_the_hourly_quota_with_429_and_retry_after(api, monkeypatch):
    monkeypatch.setenv("LLM_CALLS_PER_USER_HOUR", "10")
    from replyloop.caches import clear_all

    clear_all()
    # One clock hour for the whole test, even one run at hh:59:59 (the quota's window is the hour).
    mid_hour = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
    monkeypatch.setattr(wiring, "utc_now", lambda: mid_hour)
    interaction_id = record(api, None, 1)
    no_verdict(api, interaction_id)  # a not-useful verdict queues the workers: 5 calls
    statuses = [api("POST", f"/api/interactions/{interaction_id}/improve").status for _ in range(3)]
    assert statuses == [202, 429, 429]  # 5 + 4 = 9; one more improve would make 13
    refused = api("POST", f"/api/interactions/{interaction_id}/improve")
    assert refused.headers["Retry-After"] == "1800"  # the seconds left in the hour
    assert "model calls for this hour" in refused.body["message"]
    assert api("POST", f"/api/interactions/{interaction_id}/explain").status == 202  # 9 + 1 = 10: still within
    other = api("POST", f"/api/interactions/{interaction_id}/explain", username="someone-else")
    assert other.status == 202  # the quota is per user
    # A verdict that would queue the workers is refused whole: nothing stored, nothing queued.
    second = record(api, None, 2)
    refused = api("POST", f"/api/interactions/{second}/feedback", body={"useful": False})
    assert refused.status == 429
    assert api("GET", f"/api/interactions/{second}").body["feedback"] is None
    assert api("POST", f"/api/interactions/{second}/feedback", body={"useful": True}).status in (200, 201)
