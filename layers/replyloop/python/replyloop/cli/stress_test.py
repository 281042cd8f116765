"""`replyloop stress-test`: two assistant versions on the same queries, judged, reported, drift-guarded."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from replyloop.cli.options import TOKEN_OPTION, URL_OPTION, resolve_token
from replyloop.client import ApiClient, ApiError
from replyloop.domain.stress_batch import MAX_QUERIES as MAX_BATCH_QUERIES

if TYPE_CHECKING:
    from replyloop.models.stress import BatchProgressView
    from replyloop.operations.stress_test import Query, StressReport

DRIFT_EXIT_CODE = 3


@click.command("stress-test", short_help="Compare two assistant versions on the same queries.")
@URL_OPTION
@TOKEN_OPTION
@click.option("--candidate", default=None, help="Version to test (default: the newest candidate version).")
@click.option("--baseline", default=None, help="Version to compare with (default: the active version).")
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    default=7,
    show_default=True,
    help="Use the last N days of real 'not useful' verdicts.",
)
@click.option(
    "--simulate",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Use N simulated queries from the demo data set instead of real ones.",
)
@click.option(
    "--limit", type=click.IntRange(1, 100_000), default=1000, show_default=True, help="At most this many queries."
)
@click.option(
    "--concurrency", type=click.IntRange(1, 64), default=8, show_default=True, help="Queries in flight (live mode)."
)
@click.option(
    "--batch",
    is_flag=True,
    help=f"Use the OpenAI Batch API: half the price, results within 24 hours (at most {MAX_BATCH_QUERIES} "
    "queries). The API submits the drafts, then the judgements; this command polls until the run is done.",
)
@click.option(
    "--resume",
    "resume_id",
    default=None,
    metavar="RUN_ID",
    help="Follow a batch run started earlier (e.g. with --no-wait) until it is done; gathers no new queries.",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Batch mode: poll until the run is done, or submit, print the run id and exit.",
)
@click.option(
    "--poll-seconds",
    type=click.FloatRange(0.1, 3600),
    default=30.0,
    show_default=True,
    help="Batch mode: seconds between polls.",
)
@click.option(
    "--max-loss-share",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Exit with code 3 when the candidate loses on more than this share of queries (drift guard).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def stress_test(
    url: str,
    token: str | None,
    candidate: str | None,
    baseline: str | None,
    days: int,
    simulate: int | None,
    limit: int,
    concurrency: int,
    batch: bool,
    resume_id: str | None,
    wait: bool,
    poll_seconds: float,
    max_loss_share: float,
    as_json: bool,
) -> None:
    """Run queries through two assistant versions, judge both on one rubric, and report.

    Live mode (the default) sends the queries --concurrency at a time and reports when they are back.
    With --batch the run goes through the OpenAI Batch API for half the price: the command hands the
    queries to the API, which submits a batch of drafts and then a batch of judgements; the command
    polls (--poll-seconds) and shows each batch's progress. A batch can take up to 24 hours: with
    --no-wait the command prints the run id and exits, and `replyloop stress-test --resume RUN_ID`
    picks it up later (from any machine). The report, --json and the drift guard are the same in
    both modes.

    \b
    Exit codes: 0 the candidate held up (or --no-wait submitted the run); 3 it lost on more than
    --max-loss-share of the queries; 1 the run could not be done (a failed batch says why).
    """
    from replyloop.operations.stress_test import gather_queries, newest_candidate, run_live, start_run

    client = ApiClient(url, resolve_token(url, token), timeout=120)
    try:
        if resume_id:
            report = _follow_batch(client, resume_id, None, wait, poll_seconds, as_json)
        else:
            candidate = candidate or newest_candidate(client)
            if candidate is None:
                raise click.ClickException("No candidate version to test: register one or pass --candidate.")
            gathered = gather_queries(client, days=days, limit=limit, simulate=simulate)
            queries = gathered.queries
            if not queries:
                raise click.ClickException(f"No 'not useful' verdicts in the last {days} days; try --simulate N.")
            if batch and len(queries) > MAX_BATCH_QUERIES:
                raise click.ClickException(
                    f"{len(queries)} queries: a batch run takes at most {MAX_BATCH_QUERIES}; "
                    "lower --limit or --simulate."
                )
            run = start_run(client, baseline=baseline, candidate=candidate, queries=gathered, batch=batch)
            if batch:
                report = _follow_batch(client, run.run_id, queries, wait, poll_seconds, as_json)
            else:
                label = f"{run.baseline} vs {run.candidate}"
                with click.progressbar(length=len(queries), label=label, file=sys.stderr) as bar:
                    report = run_live(client, run, queries, concurrency, bar.update)
    except ApiError as error:
        raise click.ClickException(str(error)) from error
    if report is not None:
        _report(report, max_loss_share, as_json)


def _follow_batch(
    client: ApiClient, run_id: str, queries: list[Query] | None, wait: bool, poll_seconds: float, as_json: bool
) -> StressReport | None:
    """Hand over the queries (a new run), then poll until the run is done; its report, or None if not done."""
    from replyloop.operations.stress_test import add_batch_queries, follow_batch

    if queries is not None:
        with click.progressbar(length=len(queries), label=f"Adding queries to {run_id}", file=sys.stderr) as bar:
            add_batch_queries(client, run_id, queries, bar.update)
    shown = [""]

    def show(progress: BatchProgressView) -> None:
        line = _batch_line(progress)
        if line != shown[0]:
            click.echo(line, err=True)
            shown[0] = line

    outcome = follow_batch(client, run_id, wait=wait, poll_seconds=poll_seconds, on_progress=show)
    progress = outcome.progress
    if progress.stage == "failed":
        raise click.ClickException(f"Stress test {run_id} failed: {progress.reason}")
    if progress.failed_cases:
        click.echo(f"{progress.failed_cases} queries left out (a request failed or expired):", err=True)
        for left_out in progress.errors[:5]:
            click.echo(f"  {left_out.case_id}: {left_out.message}"[:200], err=True)
    if outcome.report is None:
        resume = f"replyloop stress-test --resume {run_id}"
        if as_json:
            click.echo(json.dumps({"runId": run_id, "stage": progress.stage, "resume": resume}, indent=2))
        else:
            click.echo(f"Batch stress test {run_id} is {progress.stage}; follow it with `{resume}`.")
    return outcome.report


def _batch_line(progress: BatchProgressView) -> str:
    counts = progress.request_counts
    detail = f"{counts.completed}/{counts.total} done, {counts.failed} failed" if counts else ""
    batch = f"batch {progress.batch_id} {progress.batch_status or ''}" if progress.batch_id else ""
    return f"  {progress.run_id}  {progress.stage:10} {batch}  {detail}".rstrip()


def _report(report: StressReport, max_loss_share: float, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        _print_report(report)
    if report.drifted(max_loss_share):
        click.echo(
            f"Drift guard: {report.candidate} lost on {report.loss_share:.0%} of queries (limit {max_loss_share:.0%}).",
            err=True,
        )
        sys.exit(DRIFT_EXIT_CODE)


def _print_report(report: StressReport) -> None:
    base, cand, summary = report.baseline, report.candidate, report.summary
    click.echo(f"Stress test {report.run_id}: {cand} (candidate) vs {base} (baseline), {summary['cases']} queries")
    click.echo(f"  mean score      {base}: {summary['baselineMean']}   {cand}: {summary['candidateMean']}")
    click.echo(
        f"  win/loss/tie    {summary['wins']}/{summary['losses']}/{summary['ties']}  "
        f"(loss share {summary['lossShare']:.0%})"
    )
    for name, key in ((base, "baselineDistribution"), (cand, "candidateDistribution")):
        bars = " ".join(f"{bucket}:{count}" for bucket, count in summary[key].items())
        click.echo(f"  scores {name:8} {bars}")
    click.echo(
        f"  tokens {summary['tokens']}   cost ${summary['costUsd']:.4f}   "
        f"throughput {summary['throughputPerSecond']}/s over {summary['durationSeconds']} s"
    )
    for case in summary["worstRegressions"]:
        click.echo(f"  regression {case['evalScore']:+.2f}: {case['message'][:80]!r}")
