"""Benchmarks through the CLI against `replyloop dev start`: the README's path, as a user runs it."""

from __future__ import annotations

import json
from collections.abc import Callable

from stacks import LocalStack

SEED_BUDGET_SECONDS = 60.0  # issue 17: "`dev seed` of 360 interactions in well under a minute"
# The CLI's default, and the local stack's concurrency for the api function (its DEFAULT_CONCURRENCY,
# the template sets no ReservedConcurrentExecutions): a higher --concurrency queues at the gateway.
STRESS_CONCURRENCY = 8

Report = Callable[..., None]


def _seed(stack: LocalStack, count: int, drafts: int) -> tuple[float, str]:
    seconds, done = stack.replyloop("dev", "seed", "--count", str(count), "--drafts", str(drafts))
    summary = next((line for line in done.stdout.splitlines() if line.startswith("Seeded")), done.stdout.strip())
    return seconds, summary


def bench_seed(report: Report, smoke: bool) -> None:
    """Full size only: 360 interactions (and the seed's 24 live drafts) take about a minute on 2 CPUs."""
    if smoke:
        return
    with LocalStack() as stack:
        seconds, summary = _seed(stack, 360, 24)
        report(
            "dev seed (360)",
            seconds / SEED_BUDGET_SECONDS,
            0.5,
            f"{seconds:.1f} s of the 60 s budget ('well under a minute': <= 30 s) on a fresh local stack "
            f"(tables: {stack.tables}; started in {stack.start_seconds:.1f} s); {summary}",
            "each interaction (with its verdict) is its own HTTP request through the gateway and the api handler; "
            "the seed keeps 8 in flight (operations/seed.py), as many as the stack serves at once",
        )


def bench_stress_cli(report: Report, smoke: bool) -> None:
    """`replyloop stress-test --simulate N --concurrency C` on the offline model with latency L, vs N*2L/C."""
    # L = 0.5 s, near a real model's: each query also costs ~70 ms of CPU in the stack's one process (the
    # gateway, the openai SDK's request building and parsing, boto3, the offline model), 8 queries sharing it.
    queries, concurrency, latency = (48 if smoke else 1000), STRESS_CONCURRENCY, 0.5
    with LocalStack(REPLYLOOP_OFFLINE_LATENCY_MS=str(round(latency * 1000))) as stack:
        # Versions to compare (the seed registers v2 and v3); in smoke mode the seed is timed too, smaller.
        count, drafts = (36, 0) if smoke else (1, 0)
        seed_seconds, summary = _seed(stack, count, drafts)
        if smoke:
            report(
                f"dev seed ({count}, smoke)",
                seed_seconds / SEED_BUDGET_SECONDS * 360 / count,
                None,
                f"{seed_seconds:.1f} s for {count} interactions, no drafts (x{360 // count} ~ "
                f"{seed_seconds * 360 / count:.0f} s for 360; full mode times 360 against the 60 s budget); "
                f"tables: {stack.tables}; {summary}",
            )
        cpu_before = stack.cpu_seconds()
        seconds, done = stack.replyloop(
            "stress-test",
            "--simulate",
            str(queries),
            "--concurrency",
            str(concurrency),
            "--candidate",
            "v3",
            "--baseline",
            "v2",
            "--max-loss-share",
            "1",
            "--json",
        )
        result = json.loads(done.stdout)
        cpu_after = stack.cpu_seconds()
        resident = stack.resident_mb()
    ideal = queries * 2 * latency / concurrency
    # The cause when the ratio is high: the stack's one process (gateway, api handler, offline model) shares one
    # GIL, so its CPU per query queues behind other queries' and adds to each query's 2 L.
    own_ms, jvm_ms = ((after - before) / queries * 1000 for after, before in zip(cpu_after, cpu_before, strict=True))
    slot_ms = 2 * latency / concurrency * 1000
    report(
        f"stress test ({queries})",
        seconds / ideal,
        1.3,
        f"`replyloop stress-test --simulate {queries} --concurrency {concurrency}` took {seconds:.1f} s "
        f"(the run itself {result['durationSeconds']} s, {result['cases']} cases) vs the ideal N*2L/C = "
        f"{ideal:.1f} s with L = {latency * 1000:.0f} ms; CPU per query: the stack's process {own_ms:.0f} ms "
        f"(one GIL: {own_ms / slot_ms:.0%} of the {slot_ms:.0f} ms a query may take at the ideal rate), DynamoDB "
        f"Local {jvm_ms:.0f} ms; stack RSS {resident:.0f} MB afterwards",
        "a query is two drafts in parallel and then two judgements, 2 L at best; on top, the stack's own CPU per "
        "query (the gateway, the api handler, the openai SDK and the offline model in one process, one GIL), "
        "which queues behind the other queries' in flight, on 2 CPUs shared with DynamoDB Local and the CLI",
    )
