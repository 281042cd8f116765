"""The local stack as a user's terminal sees it: seed, stress-test with no flags, Ctrl-C under load."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_local_stack import launch_stack, run_cli

pytestmark = pytest.mark.e2e
EXIT_SECONDS = 5.0


def stress(url: str, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "replyloop", "stress-test", "--url", url, "--json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def processes_started_for(home: Path) -> list[str]:
    """Every process still running whose environment names this REPLYLOOP_HOME (the stack's children)."""
    marker = f"REPLYLOOP_HOME={home}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "environ").read_bytes():
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return found


def test_after_seed_stress_test_needs_no_flags_and_ctrl_c_under_load_exits_within_5_s(tmp_path_factory):
    home = tmp_path_factory.mktemp("lifecycle-home")
    process, info = launch_stack(home)
    try:
        env, url = json.loads(info["env"]), info["url"]
        seeded = run_cli("dev", "seed", "--url", url, "--count", "40", "--days", "10", "--drafts", "4", env=env)
        assert "Candidate version v4 is registered" in seeded

        # `replyloop stress-test` right after `dev seed`: the seeded candidate against the active version.
        out, err = stress(url, env, "--simulate", "12", "--concurrency", "4").communicate(timeout=300)
        report = json.loads(out)
        assert (report["candidate"], report["baseline"], report["cases"]) == ("v4", "v3", 12), err

        # Load in flight (stress cases through the gateway, verdicts' jobs in the workers), then Ctrl-C.
        load = stress(url, env, "--simulate", "400", "--concurrency", "8")
        time.sleep(4)
        assert load.poll() is None, load.communicate()
        jvm = re.search(r"DynamoDB Local \S+ at http://127\.0\.0\.1:\d+ \(in memory; pid (\d+)\)", info["ready"])
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        elapsed = time.monotonic() - started
        load.kill()
        load.communicate()
    finally:
        if process.poll() is None:
            process.kill()
    assert elapsed < EXIT_SECONDS, f"Ctrl-C took {elapsed:.1f} s"
    assert any("Stopped." in line for line in info["stderr"])
    assert not (Path(home) / "local-stack.json").exists()
    if jvm is not None:  # DynamoDB Local ran (Java present): its JVM is gone with the stack
        assert not Path(f"/proc/{jvm.group(1)}").exists()
    assert processes_started_for(home) == []  # no JVM, no watchdog, nothing else left behind
