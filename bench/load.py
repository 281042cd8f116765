"""Load test: many agents drafting, recording and giving verdicts at once, against the local stack.

    python bench/load.py                      # 16 agents for 60 s (make load)
    python bench/load.py --verdicts 40        # each agent stops after 40 verdicts (16 x 40 = 640)
    python bench/load.py --url http://127.0.0.1:3000 --home ~/.replyloop   # a stack already running

Locust (headless, loopback only) drives the public HTTP API like a team of frontends. Each simulated
agent drafts replies (`POST /api/replies`), records interactions drafted elsewhere (`POST
/api/interactions`), logs whole exchanges (`POST /api/feedback-replay`), gives verdicts and sometimes
changes them. Every answered verdict is tallied on the client side; at the end the analytics the API
reports must equal that tally exactly (total, useful, not useful, interactions), with no 5xx.
Prints p50/p95 per route. Exit status 1 when a 5xx was answered or a count differs.

Started without `--url`, it runs `replyloop dev start` on a free port (a fresh, empty stack) and stops it.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gevent  # noqa: E402
from locust import HttpUser, between, events, task  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.exception import StopUser  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MESSAGES = [
    "Where is my order {n}? It was due on Monday.",
    "I was charged twice for order {n}, please refund one of them.",
    "How do I reset my password? The link in the email {n} expired.",
    "Can I change the delivery address of order {n}?",
    "The item in order {n} arrived broken. What now?",
]


@dataclass
class Tally:
    """What the simulated agents were told was saved: interaction id -> its current verdict (None: none)."""

    verdicts: dict[str, bool | None] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    verdict_calls: int = 0

    def expected(self) -> dict[str, int]:
        given = [v for v in self.verdicts.values() if v is not None]
        return {
            "interactions": len(self.verdicts),
            "total": len(given),
            "usefulCount": sum(1 for v in given if v),
            "notUsefulCount": sum(1 for v in given if not v),
        }


TALLY = Tally()
CONFIG: dict[str, Any] = {"tokens": [], "verdicts_per_user": 0, "stopping": False}
AGENT_NUMBERS = itertools.count()


class Agent(HttpUser):
    wait_time = between(0.05, 0.3)

    def on_start(self) -> None:
        index = next(AGENT_NUMBERS)
        tokens: list[str] = CONFIG["tokens"]
        self.token = tokens[index % len(tokens)]
        self.mine: list[str] = []
        self.verdicts = 0
        self.rng = random.Random(index)

    def _post(self, path: str, body: dict[str, Any], name: str) -> dict[str, Any] | None:
        if CONFIG["stopping"]:
            raise StopUser()  # between requests, so every answered request is tallied
        with self.client.post(
            path,
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            name=name,
            catch_response=True,
        ) as response:
            if response.status_code >= 500:
                TALLY.server_errors.append(f"{name}: {response.status_code} {response.text[:200]}")
                response.failure(f"{response.status_code}")
                return None
            if response.status_code >= 400:
                response.failure(f"{response.status_code}: {response.text[:200]}")
                return None
            response.success()
            return dict(response.json())

    def _message(self) -> str:
        return self.rng.choice(MESSAGES).format(n=self.rng.randint(10_000, 99_999))

    def _verdict(self, interaction_id: str) -> None:
        useful = self.rng.random() < 0.6
        body: dict[str, Any] = {"useful": useful}
        if not useful and self.rng.random() < 0.5:
            body["agentReply"] = "Sorry about that: I have checked and it ships today."
        TALLY.verdict_calls += 1
        if self._post(f"/api/interactions/{interaction_id}/feedback", body, "/api/interactions/{id}/feedback"):
            TALLY.verdicts[interaction_id] = useful
        self._count()

    def _count(self) -> None:
        self.verdicts += 1
        limit = CONFIG["verdicts_per_user"]
        if limit and self.verdicts >= limit:
            raise StopUser()

    @task(3)
    def draft_and_judge(self) -> None:
        drafted = self._post("/api/replies", {"message": self._message()}, "/api/replies")
        if drafted:
            TALLY.verdicts.setdefault(drafted["interactionId"], None)
            self.mine.append(drafted["interactionId"])
            self._verdict(drafted["interactionId"])

    @task(2)
    def record_and_judge(self) -> None:
        body = {"message": self._message(), "aiReply": "Thanks, we are looking into it.", "topic": "orders"}
        recorded = self._post("/api/interactions", body, "/api/interactions")
        if recorded:
            TALLY.verdicts.setdefault(recorded["interactionId"], None)
            self.mine.append(recorded["interactionId"])
            self._verdict(recorded["interactionId"])

    @task(2)
    def log_exchange(self) -> None:
        useful = self.rng.random() < 0.5
        body = {
            "message": self._message(),
            "aiReply": "Please wait a few days.",
            "agentReply": "It arrives tomorrow before noon.",
            "feedback": "yes" if useful else "no",
        }
        TALLY.verdict_calls += 1
        logged = self._post("/api/feedback-replay", body, "/api/feedback-replay")
        if logged:
            TALLY.verdicts[logged["interactionId"]] = useful
        self._count()

    @task(1)
    def change_my_mind(self) -> None:
        if self.mine:
            self._verdict(self.rng.choice(self.mine))


def http_json(url: str, token: str) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return dict(json.loads(response.read()))


def start_stack(home: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "REPLYLOOP_HOME": str(home)}
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, "-m", "replyloop", "dev", "start", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    ready = process.stdout.readline()
    if not ready.startswith("replyloop is ready"):
        process.kill()
        raise SystemExit(f"The local stack did not start: {ready!r}")
    return process, ready.split("API ", 1)[1].split()[0].removesuffix("/api")


def issue_tokens(home: Path, count: int) -> tuple[list[str], str]:
    from replyloop.domain.auth import Role
    from replyloop.local.tokens import issue_token

    agents = [issue_token(Role.AGENT, username=f"load-agent-{i}", home=home) for i in range(count)]
    return agents, issue_token(Role.ADMIN, username="load-admin", home=home)


def percentiles(environment: Environment) -> list[str]:
    lines = [f"{'route':40} {'requests':>8} {'fails':>6} {'p50 ms':>8} {'p95 ms':>8}"]
    for (name, method), entry in sorted(environment.stats.entries.items()):
        lines.append(
            f"{method + ' ' + name:40} {entry.num_requests:8d} {entry.num_failures:6d} "
            f"{entry.get_response_time_percentile(0.5):8.0f} {entry.get_response_time_percentile(0.95):8.0f}"
        )
    return lines


def report(
    environment: Environment, before: dict[str, Any], after: dict[str, Any], elapsed: float, out: Path | None
) -> bool:
    """Print per-route latency and the client tally against what analytics counted; True when exact."""
    expected = TALLY.expected()
    reported = {key: int(after[key]) - int(before[key]) for key in expected}
    print("\n".join(percentiles(environment)))
    print(f"{TALLY.verdict_calls} verdict calls in {elapsed:.0f} s; 5xx answers: {len(TALLY.server_errors)}")
    for line in TALLY.server_errors[:10]:
        print(f"  {line}")
    print(f"sent (client tally): {expected}")
    print(f"counted (analytics): {reported}")
    exact = reported == expected
    print("totals exact" if exact else "TOTALS DIFFER")
    if out:
        stats = {
            f"{method} {name}": {
                "requests": entry.num_requests,
                "failures": entry.num_failures,
                "p50": entry.get_response_time_percentile(0.5),
                "p95": entry.get_response_time_percentile(0.95),
            }
            for (name, method), entry in environment.stats.entries.items()
        }
        result = {"expected": expected, "reported": reported, "server_errors": len(TALLY.server_errors)}
        out.write_text(json.dumps({**result, "routes": stats}, indent=2))
    return exact


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=16, help="concurrent agents (default 16)")
    parser.add_argument("--seconds", type=int, default=60, help="how long to run (default 60)")
    parser.add_argument("--verdicts", type=int, default=0, help="each agent stops after this many verdicts")
    parser.add_argument("--url", help="a running local stack (default: start a fresh one)")
    parser.add_argument("--home", type=Path, help="that stack's REPLYLOOP_HOME (its signing key)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    process = None
    with tempfile.TemporaryDirectory() as folder:
        home = args.home or Path(folder)
        if args.url:
            url = args.url.rstrip("/")
        else:
            print("Starting a fresh local stack ...", file=sys.stderr, flush=True)
            process, url = start_stack(home)
        try:
            CONFIG["tokens"], admin = issue_tokens(home, args.users)
            CONFIG["verdicts_per_user"] = args.verdicts
            before = http_json(f"{url}/api/feedback/analytics?days=2&top=0", admin)
            environment = Environment(user_classes=[Agent], host=url, events=events)
            runner = environment.create_local_runner()
            bound = f"{args.verdicts} verdicts each, at most {args.seconds} s" if args.verdicts else f"{args.seconds} s"
            print(f"{args.users} agents against {url} for {bound} ...", file=sys.stderr, flush=True)
            started = time.monotonic()
            runner.start(args.users, spawn_rate=args.users)
            if runner.spawning_greenlet is not None:
                runner.spawning_greenlet.join(timeout=30)
            deadline = started + args.seconds
            while time.monotonic() < deadline and (not args.verdicts or runner.user_count > 0):
                gevent.sleep(0.5)
            elapsed = time.monotonic() - started
            CONFIG["stopping"] = True  # let requests in flight finish and be tallied
            drained = time.monotonic() + 120
            while runner.user_count > 0 and time.monotonic() < drained:
                gevent.sleep(0.2)
            runner.quit()
            after = http_json(f"{url}/api/feedback/analytics?days=2&top=0", admin)
        finally:
            if process is not None:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=30)

    exact = report(environment, before, after, elapsed, args.json)
    return 0 if exact and not TALLY.server_errors else 1


if __name__ == "__main__":
    sys.exit(main())
