"""`replyloop retrain`: start a retrain run, follow it, list and show runs."""

from __future__ import annotations

import json
import sys

import click

from replyloop.cli.options import TOKEN_OPTION, URL_OPTION, resolve_token
from replyloop.client import ApiClient, ApiError

# The run worked (promoted, not promoted, or waiting for a person), it could not judge or had nothing
# to do, or it failed.
EXIT_CODES = {
    "promoted": 0,
    "not_promoted": 0,
    "awaiting_approval": 0,
    "expired": 0,
    "insufficient_evidence": 2,
    "skipped": 2,
}


@click.group(short_help="Start and watch retrain runs.")
def retrain() -> None:
    """Start and watch retrain runs (the weekly state machine, on demand)."""


@retrain.command("start", short_help="Start a retrain run now and follow it.")
@URL_OPTION
@TOKEN_OPTION
@click.option(
    "--trainer",
    type=click.Choice(["gepa", "compile", "prompt", "openai", "bedrock-customization"]),
    default=None,
    help="Default: the stack's setting (gepa). prompt: the deprecated name of compile.",
)
@click.option(
    "--max-metric-calls",
    type=click.IntRange(1, 100_000),
    default=None,
    help="For --trainer gepa: drafts it may score (default: the stack's, 200).",
)
@click.option(
    "--fine-tune-method", type=click.Choice(["sft", "dpo", "reinforcement"]), default=None, help="For --trainer openai."
)
@click.option("--endpoint", default=None, help="For --trainer openai: the named endpoint to fine-tune on.")
@click.option("--days", type=click.IntRange(1, 366), default=None, help="Failed replies of the last N days.")
@click.option("--min-not-useful", type=click.IntRange(0, None), default=None, help="Topic selection threshold.")
@click.option("--margin", type=click.FloatRange(0, 10), default=None, help="Mean score gain needed to promote.")
@click.option(
    "--min-eval-cases", type=click.IntRange(1, 200), default=None, help="Held-out cases the gate needs (default 30)."
)
@click.option(
    "--promotion",
    type=click.Choice(["approve", "auto"]),
    default=None,
    help="approve: an admin approves a candidate that passed the gate; auto: the gate alone promotes.",
)
@click.option(
    "--training-policy",
    type=click.Choice(["reviewed", "judged"]),
    default=None,
    help="reviewed: judge agreement and a reviewer; judged: judge agreement alone.",
)
@click.option("--poll-seconds", type=click.IntRange(1, 3600), default=None, help="Seconds between training polls.")
@click.option(
    "--format",
    "data_format",
    type=click.Choice(["openai", "bedrock"]),
    default=None,
    help="The export's lines (default: the one the trainer uploads, else openai).",
)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the run until it finishes.")
def retrain_start(
    url: str,
    token: str | None,
    trainer: str | None,
    max_metric_calls: int | None,
    fine_tune_method: str | None,
    endpoint: str | None,
    days: int | None,
    min_not_useful: int | None,
    margin: float | None,
    min_eval_cases: int | None,
    promotion: str | None,
    training_policy: str | None,
    poll_seconds: int | None,
    data_format: str | None,
    wait: bool,
) -> None:
    """Start a retrain run now and follow its steps until it ends or waits for approval.

    \b
    Exit codes: 0 promoted, not promoted, expired or awaiting approval (the run worked);
    2 skipped or insufficient evidence; 1 failed.
    """
    from replyloop.models.retrain import NewRetrainRun
    from replyloop.operations.retrain import StepEvent, follow_run, start_run

    def show(step: StepEvent) -> None:
        click.echo(f"  {step.at[:19]}  {step.name:9} {step.outcome}  {step.detail}"[:160], err=True)

    client = ApiClient(url, resolve_token(url, token))
    request = NewRetrainRun.model_validate(
        {
            "trainer": trainer,
            "maxMetricCalls": max_metric_calls,
            "fineTuneMethod": fine_tune_method,
            "endpoint": endpoint,
            "lookbackDays": days,
            "minNotUseful": min_not_useful,
            "margin": margin,
            "minEvalCases": min_eval_cases,
            "promotion": promotion,
            "trainingPolicy": training_policy,
            "pollSeconds": poll_seconds,
            "format": data_format,
        }
    )
    try:
        started = start_run(client, request)
        click.echo(f"Retrain run {started.run_id} started ({started.status_url}).")
        if not wait:
            return
        run = follow_run(client, started.status_url, show)
    except ApiError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{run.status}: {run.reason or ''}")
    if run.evaluation and run.evaluation.ci95:
        low, high = run.evaluation.ci95
        click.echo(
            f"Evidence: {run.evaluation.cases} held-out cases, gain {run.evaluation.gain} "
            f"(95% interval {low} to {high}), {run.evaluation.wins} wins / {run.evaluation.losses} losses."
        )
    if run.status == "awaiting_approval":
        click.echo(f"Approve with `replyloop retrain approve {run.run_id}` or reject with `replyloop retrain reject`.")
    sys.exit(EXIT_CODES.get(run.status, 1))


def _decide(url: str, token: str | None, run_id: str, note: str | None, *, approve: bool) -> None:
    from replyloop.operations.retrain import decide_run

    try:
        run = decide_run(ApiClient(url, resolve_token(url, token)), run_id, approve=approve, note=note)
    except ApiError as error:
        raise click.ClickException(str(error)) from error
    verb = "Approved" if approve else "Rejected"
    click.echo(f"{verb}; run {run.run_id} is {run.status} (`replyloop retrain show {run.run_id}` for its outcome).")


@retrain.command("approve", short_help="Approve a candidate that passed the gate.")
@URL_OPTION
@TOKEN_OPTION
@click.argument("run_id")
@click.option("--note", default=None, help="Why (kept with the run).")
def retrain_approve(url: str, token: str | None, run_id: str, note: str | None) -> None:
    """Approve a candidate that passed the gate (admin): the run promotes it."""
    _decide(url, token, run_id, note, approve=True)


@retrain.command("reject", short_help="Reject a candidate that passed the gate.")
@URL_OPTION
@TOKEN_OPTION
@click.argument("run_id")
@click.option("--note", default=None, help="Why (kept with the run).")
def retrain_reject(url: str, token: str | None, run_id: str, note: str | None) -> None:
    """Reject a candidate that passed the gate (admin): the incumbent stays."""
    _decide(url, token, run_id, note, approve=False)


@retrain.command("list")
@URL_OPTION
@TOKEN_OPTION
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
def retrain_list(url: str, token: str | None, limit: int) -> None:
    """Recent retrain runs, newest first."""
    from replyloop.operations.retrain import list_runs

    try:
        runs = list_runs(ApiClient(url, resolve_token(url, token)), limit)
    except ApiError as error:
        raise click.ClickException(str(error)) from error
    for run in runs:
        click.echo(f"{run.run_id}  {run.created_at[:19]}  {run.status:12} {run.reason or ''}"[:200])


@retrain.command("show")
@URL_OPTION
@TOKEN_OPTION
@click.argument("run_id")
def retrain_show(url: str, token: str | None, run_id: str) -> None:
    """One retrain run as JSON: status, reason and every step's outcome."""
    try:
        run = ApiClient(url, resolve_token(url, token)).get(f"/api/retrain-runs/{run_id}")
    except ApiError as error:
        raise click.ClickException(str(error)) from error
    click.echo(json.dumps(run, indent=2))
