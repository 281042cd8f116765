"""`replyloop retrain`: start a retrain run, follow it, list and show runs."""

from __future__ import annotations

import json
import sys

import click

from replyloop.cli.options import TOKEN_OPTION, URL_OPTION, resolve_token
from replyloop.client import ApiClient, ApiError

# The run worked (promoted or not), it had nothing to do, or it failed.
EXIT_CODES = {"promoted": 0, "not_promoted": 0, "skipped": 2}


@click.group(short_help="Start and watch retrain runs.")
def retrain() -> None:
    """Start and watch retrain runs (the weekly state machine, on demand)."""


@retrain.command("start")
@URL_OPTION
@TOKEN_OPTION
@click.option("--trainer", type=click.Choice(["prompt", "openai"]), default=None, help="Default: the stack's setting.")
@click.option("--fine-tune-method", type=click.Choice(["sft", "dpo"]), default=None, help="For --trainer openai.")
@click.option("--days", type=click.IntRange(1, 366), default=None, help="Failed replies of the last N days.")
@click.option("--min-not-useful", type=click.IntRange(0, None), default=None, help="Version selection threshold.")
@click.option("--margin", type=click.FloatRange(0, 10), default=None, help="Mean score gain needed to promote.")
@click.option("--poll-seconds", type=click.IntRange(1, 3600), default=None, help="Seconds between training polls.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the run until it finishes.")
def retrain_start(
    url: str,
    token: str | None,
    trainer: str | None,
    fine_tune_method: str | None,
    days: int | None,
    min_not_useful: int | None,
    margin: float | None,
    poll_seconds: int | None,
    wait: bool,
) -> None:
    """Start a retrain run now and follow its steps.

    \b
    Exit codes: 0 promoted or not promoted (the run worked); 2 skipped; 1 failed.
    """
    from replyloop.models.retrain import NewRetrainRun
    from replyloop.operations.retrain import StepEvent, follow_run, start_run

    def show(step: StepEvent) -> None:
        click.echo(f"  {step.at[:19]}  {step.name:9} {step.outcome}  {step.detail}"[:160], err=True)

    client = ApiClient(url, resolve_token(url, token))
    request = NewRetrainRun.model_validate(
        {
            "trainer": trainer,
            "fineTuneMethod": fine_tune_method,
            "lookbackDays": days,
            "minNotUseful": min_not_useful,
            "margin": margin,
            "pollSeconds": poll_seconds,
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
    sys.exit(EXIT_CODES.get(run.status, 1))


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
