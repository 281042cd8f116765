"""The weekly retrain on the local stack, as an operator runs it: seed, export, retrain, promoted."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from replyloop.domain.training import validate_sft
from replyloop.local.seed import FIRST, LAST
from tests.e2e.test_local_stack import request, run_cli, start_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def seeded_stack(tmp_path_factory) -> Iterator[dict[str, str]]:
    for info in start_stack(tmp_path_factory.mktemp("retrain-home")):
        env = json.loads(info["env"])
        # 160 interactions give more than 10 distinct failed replies once personal data is redacted.
        seeded = cli("dev", "seed", "--url", info["url"], "--count", "160", "--days", "20", "--drafts", "0", env=env)
        assert seeded.returncode == 0, seeded.stderr
        yield info


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "replyloop", *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


def test_export_writes_valid_pii_free_jsonl_and_a_manifest(seeded_stack, tmp_path):
    env, url = json.loads(seeded_stack["env"]), seeded_stack["url"]
    done = cli("export", "--url", url, "--out", str(tmp_path), "--min-not-useful", "0", env=env)
    assert done.returncode == 0, done.stderr
    assert "Exporting" in done.stderr  # the progress bar
    lines = (tmp_path / "train.jsonl").read_text().splitlines()
    assert len(lines) >= 10 and all(validate_sft(json.loads(line)) is None for line in lines)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["counts"]["train.jsonl"] == len(lines) == len(manifest["provenance"]["train.jsonl"])
    assert manifest["excluded"]["duplicate"] > 0 and manifest["redacted"]["email"] > 0
    text = (tmp_path / "train.jsonl").read_text() + (tmp_path / "validation.jsonl").read_text()
    assert "@example.com" not in text
    assert not [f"{first} {last}" for first in FIRST for last in LAST if f"{first} {last}" in text]
    assert (tmp_path / "dpo_train.jsonl").exists()


def test_a_retrain_run_promotes_a_better_candidate(seeded_stack):
    env, url = json.loads(seeded_stack["env"]), seeded_stack["url"]
    token = run_cli("dev", "token", "--role", "admin", env=env).strip()
    status, _ = request(f"{url}/api/versions/v1/activate", "POST", None, token)  # roll back to the weak v1
    assert status == 200
    done = cli("retrain", "start", "--url", url, "--min-not-useful", "0", "--poll-seconds", "1", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("promoted: The candidate won by")
    for step in ("export", "train", "register", "evaluate", "promote"):
        assert f" {step}" in done.stderr  # progress: each step as it finished
    run_id = done.stdout.split()[2]
    status, run = request(f"{url}/api/retrain-runs/{run_id}", token=token)
    assert status == 200 and run["status"] == "promoted"
    _, evaluation = request(f"{url}/api/stress-tests/{run_id}", token=token)
    assert evaluation["summary"]["candidateMean"] > evaluation["summary"]["baselineMean"]
    _, versions = request(f"{url}/api/versions", token=token)
    active = [v for v in versions["items"] if v["status"] == "active"]
    assert [v["versionTag"] for v in active] == [run["candidateVersion"]]
    listed = cli("retrain", "list", "--url", url, env=env)
    assert run_id in listed.stdout and "promoted" in listed.stdout
