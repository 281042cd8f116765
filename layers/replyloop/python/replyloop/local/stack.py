"""The whole system on this machine: moto's server, the gateway and the pollers, in one process,
and AWS's DynamoDB Local (a child `java` process) for the tables.

They share a process on purpose: the handlers run in-process (like `sam local` would run them in
containers), and moto's Step Functions Lambda seam can only call them from here. Every boto3 client
in the process reaches DynamoDB Local through `AWS_ENDPOINT_URL_DYNAMODB` and moto (SQS, S3, Step
Functions, EventBridge, IAM) through `AWS_ENDPOINT_URL`. Without Java or the jar the tables fall
back to moto's DynamoDB, with a warning.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from replyloop.local.dynamodb_local import DynamoDBLocal, DynamoDBLocalUnavailable
from replyloop.local.provision import Provisioned, provision
from replyloop.local.template import TemplateError

REGION = "us-east-1"
LOCAL_ENVIRONMENT = {
    # Fake credentials: moto accepts anything, and nothing here may reach a real account.
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # No X-Ray daemon or CloudWatch agent locally.
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
STATE_FILE = "local-stack.json"
# botocore's service-specific endpoint, honoured beside AWS_ENDPOINT_URL by every client in the process.
DYNAMODB_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"
LLM_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "DRAFT_MODEL",
    "CONFIDENCE_THRESHOLD",
    "LLM_MAX_RETRIES",
    "LLM_TIMEOUT_SECONDS",
)
# How often the stack's own HTTP servers look for a shutdown request (werkzeug's default is 0.5 s).
POLL_INTERVAL = 0.1
# Ctrl-C: how long each stage of stop() waits for its parts, all signalled at once (see stop()).
STOP_STAGE_SECONDS = 2.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def find_template(start: Path | None = None) -> Path:
    """`$REPLYLOOP_TEMPLATE`, else template.yaml in the current directory or a parent, else the repo's."""
    explicit = os.environ.get("REPLYLOOP_TEMPLATE")
    if explicit:
        return Path(explicit)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "template.yaml"
        if candidate.is_file() and "AWS::Serverless" in candidate.read_text(encoding="utf-8")[:4096]:
            return candidate
    # An editable install: layers/replyloop/python/replyloop/local/stack.py -> repository root.
    candidate = Path(__file__).resolve().parents[5] / "template.yaml"
    if candidate.is_file():
        return candidate
    raise TemplateError("No template.yaml found: run from the replyloop checkout or set REPLYLOOP_TEMPLATE.")


@dataclass
class LocalStack:
    template: Path
    host: str = "127.0.0.1"
    port: int = 3000
    aws_port: int = 0
    home: Path | None = None
    visibility_timeout: int | None = None
    # Keep DynamoDB Local's tables here across restarts (None: in memory, gone when the stack stops).
    data_dir: Path | None = None
    log: Callable[[str], None] = field(default=lambda text: print(text, file=sys.stderr, flush=True))
    provisioned: Provisioned | None = None
    aws_endpoint: str = ""
    dynamodb_local: DynamoDBLocal | None = None
    _moto: Any = None
    _server: Any = None
    _model_server: Any = None
    _pollers: list[Any] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _cleanup: ExitStack = field(default_factory=ExitStack)
    llm_description: str = ""

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()  # whatever started (moto, DynamoDB Local) stops with it
            raise

    def _start(self) -> None:
        from moto.server import ThreadedMotoServer

        from replyloop.local.moto_fidelity import serialise_dynamodb

        serialise_dynamodb()  # workers write concurrently; DynamoDB applies each request atomically
        # Werkzeug logs every request moto serves; the gateway writes its own access log instead.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

        self.aws_port = self.aws_port or free_port(self.host)
        self._moto = ThreadedMotoServer(ip_address=self.host, port=self.aws_port, verbose=False)
        self._moto.start()
        self.aws_endpoint = f"http://{self.host}:{self.aws_port}"
        self._configure_moto()
        os.environ.update(LOCAL_ENVIRONMENT)
        os.environ["AWS_ENDPOINT_URL"] = self.aws_endpoint
        os.environ["MOTO_PORT"] = str(self.aws_port)
        self._start_dynamodb_local()

        import boto3

        session = boto3.Session(region_name=REGION)
        self.provisioned = provision(self.template, session, region=REGION, visibility_timeout=self.visibility_timeout)
        # The developer's own LLM settings win over the template's (empty) defaults.
        llm_overrides = {name: os.environ[name] for name in LLM_VARIABLES if os.environ.get(name)}
        os.environ.update(self.provisioned.shared_environment())
        os.environ.update(llm_overrides)
        self._start_llm()
        self._start_gateway()
        self._start_state_machine_tasks()
        self._start_pollers(session)
        self._start_schedules()
        self._write_state()

    def _start_llm(self) -> None:
        """A key or server of the developer's drafts; with neither, the offline model, named and on loopback."""
        if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
            os.environ["LLM_PROVIDER"] = "openai"
            where = os.environ.get("OPENAI_BASE_URL") or "the OpenAI API"
            self.llm_description = f"{os.environ.get('DRAFT_MODEL', 'the configured model')} at {where}"
            return
        from werkzeug.serving import make_server

        from replyloop.local.offline_model import MODEL_NAME, wsgi_app

        server = self._model_server = make_server(self.host, 0, wsgi_app, threaded=True)
        _serve(server, "offline-model")
        base_url = f"http://{self.host}:{server.server_port}/v1"
        # Named, and over real HTTP as the functions reach a model in AWS; the loopback URL is where it runs.
        os.environ.update(LLM_PROVIDER="offline", OPENAI_BASE_URL=base_url)
        os.environ.pop("OPENAI_API_KEY_PARAMETER", None)
        self.llm_description = (
            f"offline model {MODEL_NAME} at {base_url} (no OPENAI_API_KEY set; its replies are labelled)"
        )

    def _start_dynamodb_local(self) -> None:
        """DynamoDB Local for the tables; without Java or the jar, moto's DynamoDB (not with --data)."""
        try:
            self.dynamodb_local = DynamoDBLocal.installed(host=self.host, data_dir=self.data_dir)
            self.dynamodb_local.start()
        except DynamoDBLocalUnavailable as error:
            self.dynamodb_local = None
            os.environ.pop(DYNAMODB_ENDPOINT_VARIABLE, None)
            if self.data_dir is not None:
                raise DynamoDBLocalUnavailable(f"--data needs DynamoDB Local: {error}") from error
            self.log(f"  WARNING: {error}")
            self.log("  WARNING: the tables are in moto's DynamoDB instead (slower; see docs/local-stack.md)")
            return
        self._cleanup.callback(self.dynamodb_local.stop)
        os.environ[DYNAMODB_ENDPOINT_VARIABLE] = self.dynamodb_local.endpoint

    @property
    def dynamodb_description(self) -> str:
        if self.dynamodb_local is None:
            return f"moto's DynamoDB at {self.aws_endpoint} (DynamoDB Local unavailable; in memory)"
        return self.dynamodb_local.describe()

    def _configure_moto(self) -> None:
        request = urllib.request.Request(
            f"{self.aws_endpoint}/moto-api/config",
            data=json.dumps(MOTO_CONFIG).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def _start_gateway(self) -> None:
        from werkzeug.serving import make_server

        from replyloop.local.gateway import FunctionRunner, Gateway

        assert self.provisioned is not None
        self.runner = FunctionRunner(self.provisioned.functions)
        console = self.template.parent / "console" / "dist"
        if not (console / "index.html").is_file():
            self.log(f"  console: not built ({console} is missing); `make console` builds it")
        gateway = Gateway(
            self.provisioned.routes,
            self.runner,
            home=self.home,
            static_dir=console,
            on_error=self.log,
            access_log=self.log,
        )
        self._server = make_server(self.host, self.port, gateway, threaded=True)
        self.port = int(self._server.server_port)
        _serve(self._server, "gateway")

    def _start_state_machine_tasks(self) -> None:
        from replyloop.local.statemachines import lambda_seam

        assert self.provisioned is not None
        if self.provisioned.lambda_names:
            self._cleanup.enter_context(lambda_seam(self.provisioned.lambda_names, self.runner.invoke))

    def _start_pollers(self, session: Any) -> None:
        from replyloop.local.pollers import QueuePoller

        assert self.provisioned is not None
        sqs = session.client("sqs")
        for source in self.provisioned.queue_sources:
            poller = QueuePoller(
                sqs,
                source,
                self.provisioned.queues[source.queue_logical_id],
                self.runner,
                region=REGION,
                on_error=self.log,
            )
            poller.start()
            self._pollers.append(poller)

    def _start_schedules(self) -> None:
        """Invoke each function with a `rate(...)` schedule that often, as EventBridge would."""
        assert self.provisioned is not None
        stop = self._stopping
        for schedule in self.provisioned.schedules:

            def tick(schedule: Any = schedule) -> None:
                while not stop.wait(schedule.seconds):
                    event = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
                    try:
                        self.runner.invoke(schedule.function, event)
                    except Exception:
                        self.log(f"{schedule.function} failed on its schedule:\n{traceback.format_exc()}")

            threading.Thread(target=tick, name=f"schedule-{schedule.function}", daemon=True).start()

    def _state_path(self) -> Path:
        from replyloop.local.tokens import replyloop_home

        return (self.home or replyloop_home()) / STATE_FILE

    def _write_state(self) -> None:
        path = self._state_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        assert self.provisioned is not None
        state = {
            "url": self.url,
            "awsEndpoint": self.aws_endpoint,
            "dynamodbEndpoint": self.dynamodb_local.endpoint if self.dynamodb_local else self.aws_endpoint,
            "region": REGION,
            "pid": os.getpid(),
            "tables": self.provisioned.tables,
            "queues": {name: info.url for name, info in self.provisioned.queues.items()},
            "buckets": self.provisioned.buckets,
            "stateMachines": {name: m["arn"] for name, m in self.provisioned.state_machines.items()},
        }
        path.write_text(json.dumps(state, indent=2), encoding="utf-8")

    def describe(self) -> list[str]:
        assert self.provisioned is not None
        p = self.provisioned
        lines = [
            f"  AWS stand-in: moto server at {self.aws_endpoint} for SQS, S3, Step Functions, EventBridge, IAM "
            "(in memory; nothing reaches AWS)",
            f"  tables: {self.dynamodb_description}",
            f"  LLM: {self.llm_description}",
        ]
        lines += [f"  table  {logical} -> {name}" for logical, name in p.tables.items()]
        lines += [
            f"  queue  {logical} -> {info.name}"
            + (f" (DLQ after {info.max_receive_count} receives)" if info.max_receive_count else "")
            for logical, info in p.queues.items()
        ]
        lines += [f"  bucket {logical} -> {name}" for logical, name in p.buckets.items()]
        lines += [
            f"  route  {r.method} {r.path} -> {r.function}" + ("" if r.authorized else " (no auth)") for r in p.routes
        ]
        lines += [
            f"  state machine {logical} -> {m['name']}"
            + (f" (schedule {', '.join(m['schedules'])}: not fired locally)" if m["schedules"] else "")
            for logical, m in p.state_machines.items()
        ]
        lines += [f"  poller {s.queue_logical_id} -> {s.function} (batch {s.batch_size})" for s in p.queue_sources]
        lines += [f"  schedule {s.function} {s.expression}" for s in p.schedules]
        limits = ", ".join(f"{name} {self.runner.concurrency(name)}" for name in p.functions)
        lines.append(f"  concurrency (events at once, as Lambda): {limits}")
        if self.visibility_timeout is not None:
            lines.append(f"  (local testing) every queue's visibility timeout is {self.visibility_timeout} s")
        return lines

    def stop(self) -> None:
        """Stop everything within a few seconds: signal every part first, then wait for each, bounded.

        Stage 1 asks the pollers and schedules to stop and shuts the gateway and the offline model
        down, all at once; a batch or request still running gets STOP_STAGE_SECONDS and is then
        left to its daemon thread (the process exits after stop, see `replyloop dev start`). Stage 2
        stops DynamoDB Local (its process group: the JVM and its watchdog) and moto, at once.
        """
        self._stopping.set()
        for poller in self._pollers:
            poller.request_stop()
        stage = [_http_stop(server) for server in (self._server, self._model_server) if server is not None]
        stage += [poller.join for poller in self._pollers]
        _run_at_once(stage, STOP_STAGE_SECONDS)
        final = [self._cleanup.close]  # the state machine seam, then DynamoDB Local
        if self._moto is not None:
            final.append(self._moto.stop)
        _run_at_once(final, STOP_STAGE_SECONDS + STOP_TIMEOUT_MARGIN)
        path = self._state_path()
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            if state.get("pid") == os.getpid():
                path.unlink()
        except (OSError, ValueError):
            pass


# DynamoDB Local gets its own SIGTERM grace (dynamodb_local.STOP_TIMEOUT) before SIGKILL; wait for it.
STOP_TIMEOUT_MARGIN = 1.0


def _serve(server: Any, name: str) -> None:
    threading.Thread(target=server.serve_forever, args=(POLL_INTERVAL,), name=name, daemon=True).start()


def _http_stop(server: Any) -> Callable[[], None]:
    def stop() -> None:
        server.shutdown()  # returns once serve_forever has seen the request (POLL_INTERVAL)
        server.server_close()

    return stop


def _run_at_once(steps: list[Callable[[], None]], timeout: float) -> None:
    """Run the steps in parallel daemon threads; wait at most `timeout` for all of them together."""
    threads = [threading.Thread(target=step, name=f"stop-{index}", daemon=True) for index, step in enumerate(steps)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
