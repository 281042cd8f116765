"""`replyloop dev`: run the local stack, print dev tokens, load the demo data set."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from replyloop import __version__
from replyloop.cli.options import URL_OPTION
from replyloop.client import ApiClient, ApiError
from replyloop.domain.auth import Role


@click.group(short_help="Run the local stack, print dev tokens, load demo data.")
def dev() -> None:
    """Run and feed the local stack (DynamoDB Local and moto standing in for AWS, built from template.yaml)."""


@dev.command()
@click.option(
    "--port",
    type=int,
    default=lambda: int(os.environ.get("REPLYLOOP_PORT", "3000")),
    show_default="$REPLYLOOP_PORT or 3000",
    help="Port of the local HTTP API (0 picks a free one).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--aws-port", type=int, default=0, help="Port of moto's AWS endpoint (default: a free one).")
@click.option(
    "--template",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="SAM template to build the stack from (default: ./template.yaml or the checkout's).",
)
@click.option(
    "--visibility-timeout",
    type=click.IntRange(0, 43200),
    default=None,
    help="Local testing only: use this SQS visibility timeout (seconds) instead of the template's, "
    "so failed jobs retry and reach their DLQ in seconds.",
)
@click.option(
    "--data",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep the tables in DynamoDB Local's files in this directory across restarts (default: in memory).",
)
def start(
    port: int, host: str, aws_port: int, template: Path | None, visibility_timeout: int | None, data: Path | None
) -> None:
    """Start the local stack in the foreground; Ctrl-C stops it.

    Creates every table of template.yaml in AWS's DynamoDB Local (moto's DynamoDB when Java is
    missing) and every queue and bucket in an in-memory moto server, serves the HTTP API on --port
    with the same handler and JWT checks as API Gateway, and polls each SQS queue into its worker.
    Data lives in memory and is gone when the stack stops, unless --data keeps the tables.
    """
    from replyloop.local.stack import LocalStack, find_template
    from replyloop.local.template import TemplateError

    try:
        stack = LocalStack(
            template=template or find_template(),
            host=host,
            port=port,
            aws_port=aws_port,
            visibility_timeout=visibility_timeout,
            data_dir=data,
        )
        click.echo(f"Starting replyloop {__version__} from {stack.template} ...", err=True)
        stack.start()
    except (TemplateError, OSError) as error:
        raise click.ClickException(f"Could not start the local stack: {error}") from error
    for line in stack.describe():
        click.echo(line, err=True)
    stopped = threading.Event()

    def request_stop(signum: int, _: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    click.echo(
        f"replyloop is ready: API {stack.url}/api  console {stack.url}/  docs {stack.url}/docs  "
        f"spec {stack.url}/openapi.json  AWS endpoint {stack.aws_endpoint}  tables {stack.dynamodb_description}  "
        f"LLM {stack.llm_description}",
    )
    click.echo(
        "Get a token with `replyloop dev token --role agent`; load demo data with `replyloop dev seed`. Ctrl-C stops.",
        err=True,
    )
    sys.stdout.flush()
    # With a timeout: a process-directed signal may land on any thread, and only the main thread
    # runs Python's handler; a wait without one can stay blocked with the Ctrl-C pending forever.
    while not stopped.wait(timeout=0.2):
        pass
    click.echo("Stopping ...", err=True)
    stack.stop()
    click.echo("Stopped.", err=True)
    # Everything that holds state outside this process (DynamoDB Local, the state file) is stopped
    # or removed. Exit now rather than let the interpreter tear the in-process AWS down object by
    # object: that final garbage collection took seconds to minutes at 100% CPU after a long run,
    # and a request or batch still running in a daemon thread has nothing left to finish against.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


@dev.command(short_help="Print a bearer token for the local stack.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.AGENT.value,
    show_default=True,
    help="`reviewer` can do everything an agent can and change another agent's verdict; "
    "`admin` can do everything a reviewer can, plus admin-only actions.",
)
@click.option("--user", default=None, help="Username in the token (default dev-<role>).")
@click.option(
    "--ttl-hours",
    type=click.IntRange(1, 24 * 7),
    default=12,
    show_default=True,
    help="How long the token is valid.",
)
def token(role: str, user: str | None, ttl_hours: int) -> None:
    """Print a bearer token that the local stack accepts (and nothing else).

    \b
    Example:
      curl -H "Authorization: Bearer $(replyloop dev token)" http://127.0.0.1:3000/api/feedback/analytics
    """
    from replyloop.local.tokens import issue_token

    click.echo(issue_token(Role(role), username=user, ttl_seconds=ttl_hours * 3600))


@dev.command(short_help="Load a demo data set into a running stack.")
@URL_OPTION
@click.option(
    "--count",
    type=click.IntRange(1, 100_000),
    default=360,
    show_default=True,
    help="How many interactions to create.",
)
@click.option(
    "--days",
    type=click.IntRange(1, 366),
    default=30,
    show_default=True,
    help="Spread them over this many past days.",
)
@click.option(
    "--seed",
    "random_seed",
    type=int,
    default=7,
    show_default=True,
    help="Random seed (same seed, same data).",
)
@click.option(
    "--drafts",
    type=click.IntRange(0, 10_000),
    default=24,
    show_default=True,
    help="Replies to draft live with the active version (low-confidence ones land on the review queue).",
)
def seed(url: str, count: int, days: int, random_seed: int, drafts: int) -> None:
    """Load a realistic demo data set through the HTTP API (needs a running stack).

    Registers assistant versions v2 and v3 (each with a prompt version whose exemplars come from
    agents' replies) and leaves v3 active, and registers v4 and leaves it a candidate (so
    `replyloop stress-test` with no flags tests v4 against v3); records history for v1-v3 over the window with mixed
    verdicts, agents' own replies and customer messages containing personal data; then drafts a few
    replies live (low-confidence ones land on the review queue). Uses a local admin token: versions
    and backdated history (`createdAt`) are admin actions. An import vouches for no correction, so a
    second user, dev-reviewer, then approves most of the agents' corrections, rejects a few and leaves
    some pending (the `reviewed` training policy). Running it twice adds more history.
    """
    from replyloop.local.seed import candidate_setup, generate, live_messages, version_setup
    from replyloop.local.tokens import issue_token
    from replyloop.operations.seed import SeedTally, draft_live, record_history, register_versions, review_history

    client = ApiClient(url, issue_token(Role.ADMIN, username="dev-seed"))
    requests = list(generate(count=count, days=days, seed=random_seed))
    tally = SeedTally()
    try:
        register_versions(client, [*version_setup(random_seed), *candidate_setup(random_seed)], tally)
        with click.progressbar(requests, label=f"Seeding {url}", file=sys.stderr) as bar:
            record_history(client, bar, tally)
        review_history(ApiClient(url, issue_token(Role.REVIEWER, username="dev-reviewer")), tally)
        with click.progressbar(live_messages(drafts, random_seed), label="Drafting live", file=sys.stderr) as bar:
            draft_live(client, bar, tally)
    except ApiError as error:
        raise click.ClickException(f"Seeding stopped after {tally.interactions} interactions: {error}") from error
    click.echo(
        f"Seeded {tally.interactions} interactions over {days} days: "
        f"{tally.useful} useful, {tally.not_useful} not useful, {tally.without_verdict} without a verdict; "
        f"{tally.drafts} live drafts, {tally.snoozed} snoozed for review."
    )
    click.echo(
        f"Training review (as dev-reviewer): {tally.approved} corrections approved, {tally.rejected} rejected, "
        f"{tally.pending} left pending for the Training review page."
    )
    if tally.candidates:
        click.echo(f"Candidate version {', '.join(tally.candidates)} is registered: `replyloop stress-test` tests it.")
