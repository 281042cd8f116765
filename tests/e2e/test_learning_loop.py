"""The learning loop in the local stack: verdicts -> explanations -> improvements, through a crash and a DLQ replay.

The model is the offline model behind a switch: while "crashing", it answers 500 to any request about a
message containing CRASH, so those jobs fail inside batches that otherwise succeed, exhaust their
receives and land in the explain DLQ. Then the switch is turned off and the DLQ replayed with the CLI.
"""

from __future__ import annotations

import json
import threading
import time

import pytest
from werkzeug.serving import make_server

from replyloop.local import offline_model
from tests.e2e.test_local_stack import request, run_cli, start_stack

pytestmark = pytest.mark.e2e
HEALTHY, CRASHING = 6, 3


class SwitchableModel:
    def __init__(self) -> None:
        self.crashing = True
        self.refused = 0
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        if self.crashing and b"CRASH" in raw:
            with self.lock:  # requests arrive on several threads at once
                self.refused += 1
            start_response("500 Internal Server Error", [("Content-Type", "application/json")])
            return [json.dumps({"error": {"message": "injected crash", "type": "server_error"}}).encode()]
        import io

        environ["wsgi.input"] = io.BytesIO(raw)
        return offline_model.wsgi_app(environ, start_response)


@pytest.fixture(scope="module")
def model():
    switch = SwitchableModel()
    server = make_server("127.0.0.1", 0, switch, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    switch.url = f"http://127.0.0.1:{server.server_port}/v1"
    yield switch
    server.shutdown()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, model):
    yield from start_stack(
        tmp_path_factory.mktemp("loop-home"),
        # Longer than the pollers' 1 s batching window, so every receive is one attempt.
        "--visibility-timeout",
        "2",
        OPENAI_BASE_URL=model.url,
        OPENAI_API_KEY="test",
        LLM_MAX_RETRIES="0",
    )


def wait_until(check, timeout: float, what: str, show=lambda: ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}: {show()}")


def test_every_negative_verdict_is_explained_and_improved_once_even_after_a_crash(stack, model):
    env = json.loads(stack["env"])
    url = stack["url"]
    token = run_cli("dev", "token", env=env).strip()
    ids = []
    for index in range(HEALTHY + CRASHING):
        crash = " CRASH" if index < CRASHING else ""
        status, created = request(
            f"{url}/api/feedback-replay",
            "POST",
            {
                "message": f"My order {index} never arrived{crash}",
                "aiReply": "Shipping usually takes 3-5 days.",
                "agentReply": f"Sorry! Order {index} is at the depot and arrives tomorrow; I upgraded it to express.",
                "feedback": "no",
            },
            token,
        )
        assert status == 201, created
        ids.append(created["interactionId"])

    def view(interaction_id):
        return request(f"{url}/api/interactions/{interaction_id}", token=token)[1]

    def finished(interaction_id):
        found = view(interaction_id)
        return found["correctedReply"] is not None or found["improvementRejectedReason"] is not None

    wait_until(lambda: all(finished(i) for i in ids[CRASHING:]), 60, "the healthy jobs")
    wait_until(
        lambda: f"explain  dead {CRASHING:6}" in run_cli("dlq", "list", env=env),
        90,
        "the crashing jobs to reach the explain DLQ",
        lambda: run_cli("dlq", "list", env=env) + f" refused={model.refused}\n" + "".join(stack["stderr"][-60:]),
    )
    shown = run_cli("dlq", "show", "--queue", "explain", env=env)
    assert model.refused >= CRASHING * 5  # every receive was tried, up to maxReceiveCount
    assert shown.count("last error: LlmUnavailableError") == CRASHING

    model.crashing = False
    assert "Would replay 3 dead explain jobs" in run_cli("dlq", "replay", "--queue", "explain", "--dry-run", env=env)
    assert "Replayed 3 dead explain jobs (copy)" in run_cli("dlq", "replay", "--queue", "explain", env=env)
    wait_until(lambda: all(finished(i) for i in ids), 60, "the replayed jobs")

    # Replaying again (nothing left) and re-sending a finished job change nothing.
    assert "No dead explain jobs" in run_cli("dlq", "replay", "--queue", "explain", env=env)
    stats = request(f"{url}/api/feedback/analytics?days=1", token=token)[1]
    assert sum(c["count"] for c in stats["failureCategories"]) == HEALTHY + CRASHING  # one explanation each
    assert stats["notUsefulCount"] == HEALTHY + CRASHING
    board = request(f"{url}/api/improvements/leaderboard?limit=100", token=token)[1]["items"]
    assert len({row["interactionId"] for row in board}) == len(board)  # no interaction twice
