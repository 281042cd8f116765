"""The web console in real headless Chromium (Debian's package), against a seeded local stack.

pytest-playwright supplies `page`; these fixtures point it at the system browser (Playwright cannot
download its own here) and start one local stack per session, seeded with the demo data set.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from replyloop.domain.auth import Role
from replyloop.local.stack import STATE_FILE
from replyloop.local.tokens import issue_token
from tests.e2e.test_local_stack import request, run_cli, start_stack

# The flags a sandboxed, offline machine needs: no background calls home, no GPU, root allowed.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SEED = ("--count", "60", "--days", "20", "--drafts", "8")


def chromium_path() -> str:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    pytest.fail("The browser tests need Chromium: `make chromium` installs Debian's package, or set CHROMIUM.")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": chromium_path(), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 900}, "timezone_id": "UTC"}


class Stack:
    """The running local stack: its URL, and the API as a frontend (any frontend) sees it."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.url: str = info["url"]
        self.home = Path(info["home"])
        self.env: dict[str, str] = json.loads(info["env"])
        self.log: list[str] = info["stderr"]  # the stack's own log, as it runs

    def token(self, role: Role) -> str:
        return issue_token(role, home=self.home)

    def drain(self, timeout: float = 120) -> None:
        """Wait until the learning workers have nothing queued or in flight (three checks in a row)."""
        state = json.loads((self.home / STATE_FILE).read_text())
        sqs = boto3.client("sqs", endpoint_url=state["awsEndpoint"], region_name=state["region"])
        names = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")
        quiet, deadline = 0, time.monotonic() + timeout
        while quiet < 3:
            counts = {
                name: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names))["Attributes"]
                for name, url in state["queues"].items()
                if not name.endswith("DLQ")
            }
            if time.monotonic() > deadline:
                errors = [line for line in self.log if "Error" in line or "failed" in line][-5:]
                pytest.fail(f"the learning queues did not drain in {timeout:.0f} s: {counts}; last errors: {errors}")
            busy = sum(int(value) for attributes in counts.values() for value in attributes.values())
            quiet = 0 if busy else quiet + 1
            time.sleep(0.5)

    def api(self, path: str, method: str = "GET", body: object = None, role: Role = Role.ADMIN) -> Any:
        status, data = request(f"{self.url}/api{path}", method, body, self.token(role))
        assert status < 300, (path, status, data)
        return data


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    for info in start_stack(tmp_path_factory.mktemp("browser-home")):
        running = Stack(info)
        run_cli("dev", "seed", "--url", running.url, *SEED, env=running.env)
        yield running


@pytest.fixture
def shots() -> Any:
    """`shots(page, name)` saves a screenshot into $REPLYLOOP_SCREENSHOTS (used by `make screenshots`)."""
    folder = os.environ.get("REPLYLOOP_SCREENSHOTS")

    def take(page: Any, name: str) -> None:
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)

    return take
