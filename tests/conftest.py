"""Shared test setup: fake AWS credentials, and no network beyond loopback (pytest-socket)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"

# Nothing in the tests may reach a real account, whatever the developer's shell has set.
for name in (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_SESSION_TOKEN",
    # ...and no real model either: the tests use the offline model or a mocked transport.
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY_PARAMETER",
    "LLM_PROVIDER",
    "DRAFT_MODEL",
):
    os.environ.pop(name, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
)

# moto's DynamoDB is not safe under the concurrent writes the workers make; see moto_fidelity.
from replyloop.local.moto_fidelity import serialise_dynamodb  # noqa: E402

serialise_dynamodb()


@pytest.fixture
def replyloop_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private home for dev signing keys, so tests never touch ~/.replyloop."""
    home = tmp_path / "home"
    monkeypatch.setenv("REPLYLOOP_HOME", str(home))
    return home


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last, however pytest is invoked.

    Playwright's sync API (pytest-playwright's session-wide browser) keeps an asyncio event loop
    running in the main thread until the session ends, and the SQS workers' batch processing calls
    `asyncio.run()`, which refuses to start inside a running loop. In Lambda nothing else runs a loop.
    """
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)  # stable: order kept otherwise
