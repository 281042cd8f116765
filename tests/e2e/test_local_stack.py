"""Start the local stack as a user would (a subprocess), then drive it over HTTP like a frontend."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.e2e
READY_TIMEOUT = 60


def run_cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "replyloop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory) -> Iterator[dict[str, str]]:
    yield from start_stack(tmp_path_factory.mktemp("e2e-home"))


def start_stack(home: Path, *args: str, **extra_env: str) -> Iterator[dict[str, str]]:
    """`replyloop dev start` as a user runs it; yields its URL and environment, then stops it with Ctrl-C."""
    process, info = launch_stack(home, *args, **extra_env)
    stderr = info["stderr"]
    yield info
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    assert any("Stopped." in line for line in stderr)
    assert not (Path(home) / "local-stack.json").exists()


def launch_stack(home: Path, *args: str, **extra_env: str) -> tuple[subprocess.Popen[str], dict]:
    """Start `replyloop dev start --port 0` and wait for its ready line; the caller stops it."""
    env = {**os.environ, "REPLYLOOP_HOME": str(home), **extra_env}
    env.pop("AWS_ENDPOINT_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "replyloop", "dev", "start", "--port", "0", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(process.stderr), daemon=True).start()
    try:
        ready = lines.get(timeout=READY_TIMEOUT)
    except queue.Empty:
        process.kill()
        pytest.fail(f"the stack did not become ready: {''.join(stderr)}")
    assert ready.startswith("replyloop is ready: API http://127.0.0.1:"), ready
    url = ready.split("API ", 1)[1].split()[0].removesuffix("/api")
    info = {"url": url, "home": str(home), "ready": ready, "env": json.dumps(env), "stderr": stderr}
    return process, info


def request(url: str, method: str = "GET", body: object = None, token: str | None = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_a_frontend_records_feedback_and_sees_it_in_analytics(local_stack):
    env = json.loads(local_stack["env"])
    url = local_stack["url"]
    token = run_cli("dev", "token", "--role", "agent", env=env).strip()
    assert token.count(".") == 2  # only the token is printed

    status, _ = request(f"{url}/api/feedback/analytics")
    assert status == 401

    status, created = request(
        f"{url}/api/interactions",
        "POST",
        {"message": "Where is my parcel?", "aiReply": "Please wait."},
        token,
    )
    assert status == 201
    interaction_id = created["interactionId"]
    status, feedback = request(
        f"{url}/api/interactions/{interaction_id}/feedback",
        "POST",
        {"useful": False, "agentReply": "It arrives tomorrow."},
        token,
    )
    assert status == 200 and feedback["verdict"] == "no"

    status, stats = request(f"{url}/api/feedback/analytics?days=1", token=token)
    assert status == 200
    assert (stats["total"], stats["notUsefulCount"], stats["overrideCount"]) == (1, 1, 1)
    assert stats["topNegativeMessages"][0]["agentReply"] == "It arrives tomorrow."

    status, spec = request(f"{url}/openapi.json")
    assert status == 200 and "/api/feedback/analytics" in spec["paths"]


def test_seed_loads_demo_data_through_the_api(local_stack):
    env = json.loads(local_stack["env"])
    url = local_stack["url"]
    out = run_cli("dev", "seed", "--url", url, "--count", "40", "--days", "10", "--drafts", "8", env=env)
    assert "Seeded 40 interactions over 10 days" in out
    assert "8 live drafts" in out
    token = run_cli("dev", "token", env=env).strip()
    status, stats = request(f"{url}/api/feedback/analytics?days=10", token=token)
    assert status == 200
    assert stats["interactions"] >= 40
    versions = {m["assistantVersion"] for m in stats["topNegativeMessages"]}
    assert versions <= {"v1", "v2", "v3", "external"}
    status, page = request(f"{url}/api/feedback/replay?limit=100", token=token)
    assert any("@example.com" in item["message"] for item in page["items"])  # PII for redaction to find


def test_drafts_come_from_the_offline_model_over_loopback(local_stack):
    env = json.loads(local_stack["env"])
    url = local_stack["url"]
    assert "LLM offline model replyloop-offline at http://127.0.0.1:" in local_stack["ready"]
    admin = run_cli("dev", "token", "--role", "admin", env=env).strip()
    status, versions = request(f"{url}/api/versions", token=admin)
    assert status == 200
    status, body = request(f"{url}/api/replies", "POST", {"message": "Is there a store in Lisbon?"}, admin)
    assert status == 201, body
    assert body["model"] == "replyloop-offline"
    assert body["assistantVersion"] == versions["active"]
    assert 0 <= body["confidence"] <= 1
    assert body["snoozed"] is True  # nothing like it in any exemplar: the offline model holds, unsure
    status, queue = request(f"{url}/api/review-queue?limit=100", token=admin)
    assert body["interactionId"] in [item["interactionId"] for item in queue["items"]]


def test_the_stress_test_harness_reports_and_guards_drift(local_stack):
    env = json.loads(local_stack["env"])
    url = local_stack["url"]
    admin = run_cli("dev", "token", "--role", "admin", env=env).strip()
    request(f"{url}/api/versions", "POST", {"versionTag": "bare", "promptVersion": 1}, admin)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "replyloop",
            "stress-test",
            "--url",
            url,
            "--simulate",
            "20",
            "--candidate",
            "bare",
            "--concurrency",
            "4",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(done.stdout)
    assert report["cases"] == 20
    assert report["wins"] + report["losses"] + report["ties"] == 20
    # The bare v1 prompt has no exemplars: it loses to the seeded active version, and the guard says so.
    assert report["lossShare"] > 0.5
    assert done.returncode == 3
    assert "Drift guard" in done.stderr


def test_a_batch_stress_test_can_be_left_and_resumed_and_reports_like_a_live_one(local_stack):
    env = json.loads(local_stack["env"])
    url = local_stack["url"]
    admin = run_cli("dev", "token", "--role", "admin", env=env).strip()
    request(f"{url}/api/versions", "POST", {"versionTag": "bare-batch", "promptVersion": 1}, admin)

    def stress(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "replyloop", "stress-test", "--url", url, "--json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    submitted = stress("--batch", "--simulate", "20", "--candidate", "bare-batch", "--no-wait")
    assert submitted.returncode == 0, submitted.stderr
    handle = json.loads(submitted.stdout)
    assert handle["stage"] == "drafting"
    assert handle["resume"] == f"replyloop stress-test --resume {handle['runId']}"

    done = stress("--resume", handle["runId"], "--poll-seconds", "0.2")
    report = json.loads(done.stdout)
    assert report["runId"] == handle["runId"] and report["candidate"] == "bare-batch"
    assert report["cases"] == 20
    assert report["wins"] + report["losses"] + report["ties"] == 20
    assert "judging" in done.stderr and "40/40 done" in done.stderr  # requests: 20 queries x 2 versions
    # The same verdict as the live harness on the same queries: the drift guard trips.
    assert report["lossShare"] > 0.5
    assert done.returncode == 3
    assert "Drift guard" in done.stderr
