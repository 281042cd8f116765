"""The sample events in events/ stay true: each one runs through its handler without a 5xx."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT
from tests.helpers import call

EVENTS = sorted((ROOT / "events").glob("api-*.json"))


def test_there_are_sample_events():
    assert EVENTS


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.name)
def test_api_sample_event_is_accepted(stack, path):
    from replyloop.handlers.api import lambda_handler

    result = call(lambda_handler, json.loads(path.read_text()))
    assert 200 <= result.status < 300, result.body


@pytest.mark.parametrize("name", ["sqs-explain-job.json", "sqs-correct-job.json"])
def test_worker_sample_events_are_processed(stack, name):
    from replyloop.handlers.workers import lambda_handler
    from tests.helpers import FakeContext

    event = json.loads((ROOT / "events" / name).read_text())
    # The sample names an interaction this empty table does not have: the job is skipped, not failed.
    assert lambda_handler(event, FakeContext(function_name="Worker")) == {"batchItemFailures": []}


def test_schedule_sample_event_runs_the_sweeper(stack):
    from replyloop.handlers.sweeper import lambda_handler
    from tests.helpers import FakeContext

    event = json.loads((ROOT / "events" / "eventbridge-schedule.json").read_text())
    assert lambda_handler(event, FakeContext(function_name="OutboxSweeperFunction")) == {
        "sent": 0,
        "watch": "nothing to compare",  # one version has served: no promotion to watch
        "erasuresFinished": 0,
        "erasuresPending": 0,
    }
