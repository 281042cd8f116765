"""Customer text never reaches the logs: every route's log lines (and an error's) hold metadata only."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

CANARY = "Zanzibar-Quokka-7731"  # a customer's words, which must appear in no log line


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the Powertools logger writes (its handler's stream is bound once, at import: redirect it)."""
    from replyloop.handlers.observability import logger

    stream, level = io.StringIO(), logger.log_level
    previous = logger.registered_handler.setStream(stream)
    logger.setLevel("DEBUG")  # everything it would ever write, not only what the deployed level shows
    try:
        yield stream
    finally:
        logger.registered_handler.setStream(previous)
        logger.setLevel(level)


def test_requests_with_customer_text_log_none_of_it(api, log_lines, caplog):
    body = {"message": f"{CANARY} my order is late", "aiReply": "See FAQ.", "customerId": f"cust-{CANARY}"}
    created = api("POST", "/api/interactions", body=body)
    assert created.status == 201
    interaction_id = created.body["interactionId"]
    verdict = {"useful": False, "agentReply": f"Sorry {CANARY}, it ships today."}
    assert api("POST", f"/api/interactions/{interaction_id}/feedback", body=verdict).status == 200
    assert api("POST", f"/api/interactions/{interaction_id}/explain").status == 202
    assert api("GET", f"/api/interactions/{interaction_id}").status == 200
    # Refused requests log no body either: a schema error, an unknown field, a bad customer erasure.
    assert api("POST", "/api/interactions", body={"message": CANARY}).status == 422
    assert api("POST", "/api/interactions", body={**body, "extra": CANARY}).status == 422
    assert api("DELETE", f"/api/customers/{CANARY}", groups="[admin]").status == 202

    logged = log_lines.getvalue() + caplog.text
    assert logged  # the handler does log (cold start, metrics, the erasure's audit line)
    assert CANARY not in logged
