"""After a promotion: the watch compares live usefulness with the version before, alarms, and rolls back."""

from __future__ import annotations

import pytest

from replyloop.caches import clear_all
from tests.helpers import FakeContext
from tests.integration.test_assistant_api import admin, draft, new_version


@pytest.fixture
def watched(api, monkeypatch):
    monkeypatch.setenv("PROMOTION_WATCH_MIN_VERDICTS", "12")
    clear_all()  # settings are read once per process
    return api


def verdicts(api, count: int, useful: bool) -> None:
    for n in range(count):
        interaction = draft(api, message=f"I was charged twice this month, ticket {n}")
        path = f"/api/interactions/{interaction['interactionId']}/feedback"
        assert api("POST", path, body={"useful": useful}).status == 200


def test_nothing_to_compare_before_a_second_version_served(watched):
    view = admin(watched, "GET", "/api/versions/watch")
    assert view.status == 200 and view.body["status"] == "nothing_to_compare"


def test_a_promoted_version_that_does_worse_is_flagged_with_a_one_call_rollback(watched):
    verdicts(watched, 14, useful=True)  # the default v1 serves first
    new_version(watched, "v2")
    assert admin(watched, "POST", "/api/versions/v2/activate").status == 200
    early = admin(watched, "GET", "/api/versions/watch").body
    assert early["status"] == "too_few" and (early["active"], early["previous"]) == ("v2", "v1")

    verdicts(watched, 14, useful=False)
    view = admin(watched, "GET", "/api/versions/watch").body
    assert view["status"] == "regressed", view
    assert view["activeUsefulness"] == {"useful": 0, "total": 14, "rate": 0.0}
    assert view["previousUsefulness"]["useful"] == 14 and view["z"] < -1.645
    assert admin(watched, "POST", view["rollbackUrl"]).status == 200
    versions = {v["versionTag"]: v["status"] for v in admin(watched, "GET", "/api/versions").body["items"]}
    assert versions == {"v1": "active", "v2": "frozen"}
    assert watched("GET", "/api/versions/watch").status == 403  # admins only


def test_the_sweeper_alarms_and_rolls_back_by_itself_when_configured(watched, monkeypatch):
    verdicts(watched, 14, useful=True)
    new_version(watched, "v2")
    admin(watched, "POST", "/api/versions/v2/activate")
    verdicts(watched, 7, useful=True)
    verdicts(watched, 7, useful=False)

    from replyloop.handlers.sweeper import lambda_handler

    held = lambda_handler({}, FakeContext(function_name="OutboxSweeperFunction"))
    assert (held["watch"], held["rolledBack"]) == ("regressed", False)  # alarm only by default
    monkeypatch.setenv("AUTO_ROLLBACK", "true")
    clear_all()
    rolled = lambda_handler({}, FakeContext(function_name="OutboxSweeperFunction"))
    assert (rolled["watch"], rolled["rolledBack"]) == ("regressed", True)
    versions = {v["versionTag"]: v["status"] for v in admin(watched, "GET", "/api/versions").body["items"]}
    assert versions["v1"] == "active"
