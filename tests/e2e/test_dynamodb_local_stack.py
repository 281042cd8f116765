"""`replyloop dev start` on DynamoDB Local: kept data with --data, the fallback without Java, concurrency."""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.test_local_stack import request, run_cli, start_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory):
    yield from start_stack(tmp_path_factory.mktemp("ddb-concurrency-home"))


def record(url: str, token: str, message: str) -> str:
    status, created = request(f"{url}/api/interactions", "POST", {"message": message, "aiReply": "Soon."}, token)
    assert status == 201, created
    return str(created["interactionId"])


def pids_of(pattern: str) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if pattern in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java 17+ on PATH")
def test_data_kept_with_data_survives_a_restart_and_no_jvm_is_left(tmp_path_factory):
    home = tmp_path_factory.mktemp("ddb-home")
    data = tmp_path_factory.mktemp("ddb-data")
    stack = start_stack(home, "--data", str(data))
    info = next(stack)
    assert "tables DynamoDB Local 3.3.1 at http://127.0.0.1:" in info["ready"]
    assert f"(data in {data}" in info["ready"]
    env = json.loads(info["env"])
    token = run_cli("dev", "token", "--role", "agent", env=env).strip()
    interaction_id = record(info["url"], token, "Is my refund on its way?")
    jvms = pids_of(str(data))
    assert jvms  # DynamoDB Local runs with -dbPath <data>
    next(stack, None)  # Ctrl-C: stops, and asserts a clean exit
    assert not pids_of(str(data))

    again = start_stack(home, "--data", str(data))
    info = next(again)
    status, view = request(f"{info['url']}/api/interactions/{interaction_id}", token=token)
    assert status == 200 and view["message"] == "Is my refund on its way?"
    next(again, None)


def test_without_java_the_stack_warns_and_keeps_its_tables_in_moto(tmp_path_factory):
    # Only the interpreter's own directory on PATH: no java to be found.
    stack = start_stack(tmp_path_factory.mktemp("nojava-home"), PATH=os.path.dirname(sys.executable))
    info = next(stack)
    assert "tables moto's DynamoDB at http://127.0.0.1:" in info["ready"]
    assert any("WARNING" in line and "Java" in line for line in info["stderr"])
    env = json.loads(info["env"])
    token = run_cli("dev", "token", "--role", "agent", env=env).strip()
    interaction_id = record(info["url"], token, "Where is my parcel?")
    status, _ = request(f"{info['url']}/api/interactions/{interaction_id}", token=token)
    assert status == 200
    next(stack, None)


def test_concurrent_verdicts_are_served_in_parallel_and_all_counted(local_stack):
    env = json.loads(local_stack["env"])
    url = local_stack["url"]
    token = run_cli("dev", "token", "--role", "agent", env=env).strip()
    ids = [record(url, token, f"Parallel question {n}") for n in range(16)]
    statuses: list[int] = []

    def verdict(interaction_id: str) -> None:
        status, _ = request(f"{url}/api/interactions/{interaction_id}/feedback", "POST", {"useful": True}, token)
        statuses.append(status)

    threads = [threading.Thread(target=verdict, args=(i,)) for i in ids]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 16, statuses
    assert time.monotonic() - started < 30
    status, stats = request(f"{url}/api/feedback/analytics?days=1", token=token)
    assert status == 200
    assert stats["usefulCount"] >= 16
