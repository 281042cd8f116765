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
