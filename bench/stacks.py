"""The AWS stand-ins the benchmarks run against: what the local stack uses, in processes of their own.

`AwsStandIn`: moto's server (SQS, S3, Step Functions, EventBridge, IAM) and AWS's DynamoDB Local for
the tables, with the template's resources, and the handlers' environment in this process.
`LocalStack`: `replyloop dev start --port 0` as a user runs it, for the benchmarks that go through
the CLI and the HTTP API.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DYNAMODB_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"
# What the moto-backed benchmarks' tables ran on, e.g. "DynamoDB Local 3.3.1"; printed in each detail.
TABLES = {"backend": ""}
DYNAMODB_START_TIMEOUT = 180.0
_warned: list[str] = []


def _clear_caches() -> None:
    from replyloop.caches import clear_all

    clear_all()


class AwsStandIn:
    """moto's server for everything but the tables, DynamoDB Local for the tables (as `make dev` runs them).

    Separate processes matter: AWS calls must be I/O for the code under test, as they are in Lambda,
    not CPU work competing for this interpreter's GIL. Without Java or the jar the tables stay in
    moto (the run says so once, and every affected line names the backend).
    """

    def __enter__(self) -> AwsStandIn:
        import boto3

        from replyloop.local.dynamodb_local import DynamoDBLocal, DynamoDBLocalUnavailable
        from replyloop.local.provision import provision
        from replyloop.local.stack import free_port

        port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "replyloop.local.moto_fidelity", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.dynamodb: Any = None
        try:
            self.dynamodb = DynamoDBLocal.installed()
        except DynamoDBLocalUnavailable as error:  # no Java or no jar: this machine cannot run it at all
            self.dynamodb = None
            os.environ.pop(DYNAMODB_ENDPOINT_VARIABLE, None)
            TABLES["backend"] = "moto's DynamoDB (DynamoDB Local unavailable)"
            if not _warned:
                _warned.append(str(error))
                print(f"WARNING: {error} The tables fall back to moto's DynamoDB.", flush=True)
        else:
            # A JVM starting on a busy machine can take a while; a start that still fails is an error,
            # not a fallback, so one run never compares one backend with another.
            try:
                self.dynamodb.start(timeout=DYNAMODB_START_TIMEOUT)
            except BaseException:
                self.process.kill()
                self.process.wait(timeout=10)
                raise
            os.environ[DYNAMODB_ENDPOINT_VARIABLE] = self.dynamodb.endpoint
            TABLES["backend"] = f"DynamoDB Local {self.dynamodb.version}".strip()
        endpoint = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.__exit__()
                    raise
                time.sleep(0.1)
        os.environ["AWS_ENDPOINT_URL"] = endpoint
        _clear_caches()
        self.provisioned = provision(ROOT / "template.yaml", boto3.Session(region_name="us-east-1"))
        os.environ.update(self.provisioned.shared_environment())
        _clear_caches()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()  # a busy server thread can outlive SIGTERM
            self.process.wait(timeout=10)
        if self.dynamodb is not None:
            self.dynamodb.stop()
        os.environ.pop("AWS_ENDPOINT_URL", None)
        os.environ.pop(DYNAMODB_ENDPOINT_VARIABLE, None)
        _clear_caches()


class LocalStack:
    """`replyloop dev start --port 0` in a fresh home; `url`, `ready` (its ready line), `pid`; Ctrl-C on exit."""

    READY_TIMEOUT = 120.0

    def __init__(self, **extra_env: str) -> None:
        self.extra_env = extra_env

    def __enter__(self) -> LocalStack:
        self._home = tempfile.TemporaryDirectory(prefix="bench-home-")
        self.env = {**os.environ, "REPLYLOOP_HOME": self._home.name, **self.extra_env}
        for name in ("AWS_ENDPOINT_URL", DYNAMODB_ENDPOINT_VARIABLE):
            self.env.pop(name, None)
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "replyloop", "dev", "start", "--port", "0"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.pid = self.process.pid
        lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None and self.process.stderr is not None
        stdout, stderr = self.process.stdout, self.process.stderr
        threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
        self.stderr: list[str] = []
        threading.Thread(target=lambda: self.stderr.extend(stderr), daemon=True).start()
        try:
            self.ready = lines.get(timeout=self.READY_TIMEOUT)
        except queue.Empty:
            self.__exit__()
            raise RuntimeError(f"the local stack did not become ready: {''.join(self.stderr)[-2000:]}") from None
        if not self.ready.startswith("replyloop is ready: API "):
            self.__exit__()
            raise RuntimeError(f"unexpected first line from the local stack: {self.ready!r}")
        self.start_seconds = time.perf_counter() - started
        self.url = self.ready.split("API ", 1)[1].split()[0].removesuffix("/api")
        self.tables = self.ready.split("tables ", 1)[1].split(" at ")[0] if "tables " in self.ready else "?"
        return self

    def replyloop(self, *args: str, timeout: float = 1800) -> tuple[float, subprocess.CompletedProcess[str]]:
        """Run `replyloop ARGS --url URL` against this stack: (seconds, the finished process)."""
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "replyloop", *args, "--url", self.url],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"replyloop {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
        return seconds, done

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time (user + system) so far: (the stack's own process, its child processes: DynamoDB Local's JVM)."""
        ticks = os.sysconf("SC_CLK_TCK")

        def of(pid: int) -> float:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return 0.0
            return (int(fields[11]) + int(fields[12])) / ticks

        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return of(self.pid), sum(of(int(child)) for child in children)

    def resident_mb(self) -> float:
        """The stack process's resident memory (its own, not DynamoDB Local's JVM)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._home.cleanup()
