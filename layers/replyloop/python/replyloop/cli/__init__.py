"""The `replyloop` command: run the local stack, get dev tokens, load demo data."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from replyloop import __version__
from replyloop.client import ApiClient, ApiError, default_url
from replyloop.domain.auth import Role
from replyloop.domain.stress_batch import MAX_QUERIES as MAX_BATCH_QUERIES

URL_OPTION = click.option(
    "--url",
    default=default_url,
    show_default="$REPLYLOOP_URL or http://127.0.0.1:3000",
    help="Base URL of the replyloop stack (the local one, or a deployed API's URL).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="replyloop")
def main() -> None:
    """replyloop: an AI support assistant that learns from the agents who correct it.

    Start here: `replyloop dev start` runs the whole system on this machine (no AWS account,
    no OpenAI key); `replyloop dev token --role agent` prints a token for its API.
    """


@main.group()
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
    stopped.wait()
    click.echo("Stopping ...", err=True)
    stack.stop()
    click.echo("Stopped.", err=True)


@dev.command()
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.AGENT.value,
    show_default=True,
    help="`admin` can do everything an agent can, plus admin-only actions.",
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


@dev.command()
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
    agents' replies) and leaves v3 active; records history for v1-v3 over the window with mixed
    verdicts, agents' own replies and customer messages containing personal data; then drafts a few
    replies live (low-confidence ones land on the review queue). Uses a local admin token: versions
    and backdated history (`createdAt`) are admin actions. Running it twice adds more history.
    """
    from replyloop.local.seed import generate, live_messages, version_setup
    from replyloop.local.tokens import issue_token

    client = ApiClient(url, issue_token(Role.ADMIN, username="dev-seed"))
    requests = list(generate(count=count, days=days, seed=random_seed))
    counts = {"interactions": 0, "yes": 0, "no": 0}
    try:
        existing = {v["versionTag"] for v in client.get("/api/versions")["items"]}
        for step in version_setup(random_seed):
            if step["tag"] in existing:
                continue
            prompt = client.post("/api/prompts/reply/versions", step["prompt"])
            client.post(
                "/api/versions",
                {
                    "versionTag": step["tag"],
                    "promptVersion": prompt["version"],
                    "description": step["description"],
                },
            )
            client.post(f"/api/versions/{step['tag']}/activate", None)
        with click.progressbar(requests, label=f"Seeding {url}", file=sys.stderr) as bar:
            for item in bar:
                client.post(item["path"], item["body"])
                counts["interactions"] += 1
                verdict = item["body"].get("feedback")
                if verdict:
                    counts[verdict] += 1
        snoozed = 0
        with click.progressbar(live_messages(drafts, random_seed), label="Drafting live", file=sys.stderr) as bar:
            for message in bar:
                snoozed += bool(client.post("/api/replies", {"message": message})["snoozed"])
    except ApiError as error:
        raise click.ClickException(f"Seeding stopped after {counts['interactions']} interactions: {error}") from error
    click.echo(
        f"Seeded {counts['interactions']} interactions over {days} days: "
        f"{counts['yes']} useful, {counts['no']} not useful, "
        f"{counts['interactions'] - counts['yes'] - counts['no']} without a verdict; "
        f"{drafts} live drafts, {snoozed} snoozed for review."
    )


QUEUE_OPTION = click.option(
    "--queue",
    "queue_name",
    type=click.Choice(["explain", "correct"]),
    required=True,
    help="Which worker's dead-letter queue.",
)
STACK_OPTION = click.option(
    "--stack",
    "stack_name",
    default=None,
    help="A deployed stack's name (queues from its outputs, AWS credentials from the environment). "
    "Default: the running local stack.",
)


def _connect(stack_name: str | None) -> Any:
    from replyloop.operations.connection import StackNotFoundError, connect

    try:
        return connect(stack_name)
    except StackNotFoundError as error:
        raise click.ClickException(str(error)) from error


@main.group("console")
def console_group() -> None:
    """The web console: locally it is served at the stack's URL; in AWS, publish it to the stack."""


@console_group.command("publish")
@click.option("--stack", "stack_name", required=True, help="The deployed stack's name (AWS credentials from the env).")
@click.option(
    "--dist",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("console/dist"),
    show_default=True,
    help="The built console (`make console` builds it).",
)
def console_publish(stack_name: str, dist: Path) -> None:
    """Upload the built console to the stack's bucket with its config.json, and refresh CloudFront.

    config.json carries the stack's API URL, Cognito hosted UI domain and app client id, read from
    the stack's outputs; sign-in then goes through the hosted UI (agents and admins are the user
    pool's `agent` and `admin` groups).
    """
    import boto3

    from replyloop.operations.console import ConsolePublishError, ConsoleTarget, publish, stack_outputs

    session = boto3.Session()
    try:
        target = ConsoleTarget.from_outputs(stack_name, stack_outputs(session.client("cloudformation"), stack_name))
        click.echo(f"Publishing {dist} to s3://{target.bucket}", err=True)
        result = publish(
            session.client("s3"), session.client("cloudfront"), target, dist, lambda line: click.echo(line, err=True)
        )
    except ConsolePublishError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Published {result.files} files ({result.bytes:,} bytes). Open {target.console_url}")


@main.group()
def dlq() -> None:
    """Inspect and replay dead jobs of the learning workers (explain, correct)."""


@dlq.command("list")
@STACK_OPTION
def dlq_list(stack_name: str | None) -> None:
    """How many jobs are dead, and how many are still queued, per worker."""
    from replyloop.operations.connection import QUEUES
    from replyloop.operations.dlq import depth

    connection = _connect(stack_name)
    sqs = connection.client("sqs")
    click.echo(f"Dead-letter queues of {connection.description}:")
    for name in QUEUES:
        source, dead = connection.queue_urls[name]
        click.echo(f"  {name:8} dead {depth(sqs, dead):6}   queued {depth(sqs, source):6}")


@dlq.command("show")
@QUEUE_OPTION
@STACK_OPTION
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="How many to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of text.")
def dlq_show(queue_name: str, stack_name: str | None, limit: int, as_json: bool) -> None:
    """Each dead job: its message id, the job, how often it was tried, and its last error."""
    from replyloop.operations.dlq import peek

    connection = _connect(stack_name)
    _, dead = connection.queue_urls[queue_name]
    messages = peek(connection.client("sqs"), dead, limit, connection.last_error)
    if not messages:
        click.echo(f"No dead {queue_name} jobs.")
        return
    for message in messages:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "messageId": message.message_id,
                        "body": message.body,
                        "receiveCount": message.receive_count,
                        "lastError": message.last_error,
                    }
                )
            )
            continue
        click.echo(f"{message.message_id}  tried {message.receive_count}x  job {message.body}")
        click.echo(f"    last error: {message.last_error or '(none recorded)'}")


@dlq.command("replay")
@QUEUE_OPTION
@STACK_OPTION
@click.option("--dry-run", is_flag=True, help="Say what would be replayed; move nothing.")
def dlq_replay(queue_name: str, stack_name: str | None, dry_run: bool) -> None:
    """Send every dead job back to its queue (native SQS redrive where available, else a safe copy).

    Nothing is deleted from the DLQ before its copy is queued, and replaying twice does no harm:
    the workers are idempotent on the job, not on the SQS message.
    """
    from replyloop.operations.dlq import depth, replay

    connection = _connect(stack_name)
    pair = connection.pair(queue_name)
    sqs = connection.client("sqs")
    waiting = depth(sqs, pair.dlq_url)
    if dry_run:
        click.echo(f"Would replay {waiting} dead {queue_name} jobs from {connection.description} (dry run).")
        return
    if waiting == 0:
        click.echo(f"No dead {queue_name} jobs to replay.")
        return
    with click.progressbar(length=waiting, label=f"Replaying {queue_name}", file=sys.stderr) as bar:
        done = [0]

        def progress(moved: int) -> None:
            bar.update(max(0, moved - done[0]))
            done[0] = moved

        moved, method = replay(sqs, pair, progress)
    click.echo(f"Replayed {moved} dead {queue_name} jobs ({'native SQS redrive' if method == 'redrive' else 'copy'}).")


def _token(url: str, token: str | None, role: Role = Role.ADMIN) -> str:
    """The given token; or, for a stack on this machine, a dev token signed with the local key."""
    if token:
        return token
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if host in ("127.0.0.1", "localhost", "[::1]"):
        from replyloop.local.tokens import issue_token

        return issue_token(role, username="dev-cli")
    raise click.ClickException(
        f"{url} is not a local stack: pass --token (or set REPLYLOOP_TOKEN) with an admin token."
    )


TOKEN_OPTION = click.option(
    "--token",
    envvar="REPLYLOOP_TOKEN",
    default=None,
    help="Bearer token (default for a local stack: a dev admin token).",
)


@main.command("export")
@URL_OPTION
@TOKEN_OPTION
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write train.jsonl, validation.jsonl, manifest.json (and dpo_*.jsonl) into.",
)
@click.option(
    "--days", type=click.IntRange(1, 366), default=30, show_default=True, help="Failed replies of the last N days."
)
@click.option(
    "--min-not-useful",
    type=click.IntRange(0, None),
    default=5,
    show_default=True,
    help="Export the versions with more than this many 'not useful' verdicts in the window.",
)
@click.option(
    "--validation-share", type=click.FloatRange(0, 0.9), default=0.2, show_default=True, help="Share held out."
)
def export(url: str, token: str | None, out_dir: Path, days: int, min_not_useful: int, validation_share: float) -> None:
    """Export training data as OpenAI fine-tuning JSONL, the way the weekly retrain does.

    Reads failed replies through the HTTP API (any stack: --url), redacts personal data, drops
    duplicates and invalid lines, splits train/validation with no message in both, and writes a
    manifest with counts, exclusions by reason, what was redacted and each line's interaction id.
    """
    import uuid
    from datetime import UTC, datetime

    from replyloop.domain.prompts import PromptVersion
    from replyloop.operations.export import ApiSource
    from replyloop.services.export import DirectoryOutputs, ExportOptions, export_training_data

    client = ApiClient(url, _token(url, token))
    options = ExportOptions(lookback_days=days, min_not_useful=min_not_useful, validation_share=validation_share)
    now = datetime.now(UTC)
    source = ApiSource(client)
    try:
        active = next(v for v in client.get("/api/versions")["items"] if v["status"] == "active")
        prompts = client.get(f"/api/prompts/{active['promptName']}/versions")["items"]
        found = next(p for p in prompts if p["version"] == active["promptVersion"])
        prompt = PromptVersion(found["name"], found["version"], found["text"], now)
        start, end = options.window(now.date())
        total = sum(n for n in source.not_useful_by_version(start, end).values() if n > min_not_useful)
        with click.progressbar(length=total, label=f"Exporting {url}", file=sys.stderr) as bar:
            result = export_training_data(
                source,
                prompt,
                DirectoryOutputs(out_dir),
                options,
                run_id=uuid.uuid4().hex,
                now=now,
                progress=bar.update,
            )
    except ApiError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Read {result.rows} failed replies from versions {', '.join(result.versions) or '(none selected)'}.")
    for name, count in result.counts.items():
        if count:
            click.echo(f"  {out_dir / name}: {count} examples")
    click.echo(f"  {out_dir / 'manifest.json'}")
    if result.excluded:
        click.echo("Excluded: " + ", ".join(f"{reason} {n}" for reason, n in result.excluded.items()))
    if result.redacted:
        click.echo("Redacted: " + ", ".join(f"{kind} {n}" for kind, n in result.redacted.items()))
    if not result.enough:
        click.echo(
            f"Only {result.counts['train.jsonl']} training examples: OpenAI needs at least 10; "
            "widen --days or lower --min-not-useful.",
            err=True,
        )
        sys.exit(2)


@main.group()
def retrain() -> None:
    """Start and watch retrain runs (the weekly state machine, on demand)."""


TERMINAL = ("promoted", "not_promoted", "skipped", "failed")


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
    client = ApiClient(url, _token(url, token))
    body = {
        "trainer": trainer,
        "fineTuneMethod": fine_tune_method,
        "lookbackDays": days,
        "minNotUseful": min_not_useful,
        "margin": margin,
        "pollSeconds": poll_seconds,
    }
    try:
        started = client.post("/api/retrain-runs", {k: v for k, v in body.items() if v is not None})
        click.echo(f"Retrain run {started['runId']} started ({started['statusUrl']}).")
        if not wait:
            return
        run = _follow(client, started["statusUrl"])
    except ApiError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{run['status']}: {run.get('reason') or ''}")
    sys.exit({"promoted": 0, "not_promoted": 0, "skipped": 2}.get(run["status"], 1))


def _follow(client: ApiClient, status_url: str) -> dict[str, Any]:
    import time

    shown: set[str] = set()
    while True:
        run = client.get(status_url)
        for name, step in run["steps"].items():
            key = f"{name}:{step.get('outcome')}"
            if key not in shown:
                shown.add(key)
                detail = step.get("reason") or step.get("detail") or ""
                click.echo(f"  {step.get('at', '')[:19]}  {name:9} {step.get('outcome')}  {detail}"[:160], err=True)
        if run["status"] in TERMINAL:
            return dict(run)
        time.sleep(1)


@retrain.command("list")
@URL_OPTION
@TOKEN_OPTION
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
def retrain_list(url: str, token: str | None, limit: int) -> None:
    """Recent retrain runs, newest first."""
    try:
        runs = ApiClient(url, _token(url, token)).get("/api/retrain-runs", limit=limit)["items"]
    except ApiError as error:
        raise click.ClickException(str(error)) from error
    for run in runs:
        click.echo(f"{run['runId']}  {run['createdAt'][:19]}  {run['status']:12} {run.get('reason') or ''}"[:200])


@retrain.command("show")
@URL_OPTION
@TOKEN_OPTION
@click.argument("run_id")
def retrain_show(url: str, token: str | None, run_id: str) -> None:
    """One retrain run as JSON: status, reason and every step's outcome."""
    try:
        run = ApiClient(url, _token(url, token)).get(f"/api/retrain-runs/{run_id}")
    except ApiError as error:
        raise click.ClickException(str(error)) from error
    click.echo(json.dumps(run, indent=2))


@main.command("stress-test")
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
    import time

    from replyloop.operations.stress_test import failed_queries, run_all, simulated_queries

    client = ApiClient(url, _token(url, token), timeout=120)
    if resume_id:
        run, summary = _follow_batch(client, resume_id, None, wait, poll_seconds, as_json)
        if summary is None:
            return
        _report_stress_test(run, summary, max_loss_share, as_json)
        return
    try:
        versions = client.get("/api/versions")["items"]
        if candidate is None:
            candidates = [v for v in versions if v["status"] == "candidate"]
            if not candidates:
                raise click.ClickException("No candidate version to test: register one or pass --candidate.")
            candidate = candidates[-1]["versionTag"]
        queries = simulated_queries(min(simulate, limit)) if simulate else failed_queries(client, days, limit)
        if not queries:
            raise click.ClickException(f"No 'not useful' verdicts in the last {days} days; try --simulate N.")
        if batch and len(queries) > MAX_BATCH_QUERIES:
            raise click.ClickException(
                f"{len(queries)} queries: a batch run takes at most {MAX_BATCH_QUERIES}; lower --limit or --simulate."
            )
        source = f"simulated x{len(queries)}" if simulate else f"failed queries, last {days} days"
        run = client.post(
            "/api/stress-tests",
            {
                "baseline": baseline,
                "candidate": candidate,
                "source": source,
                "planned": len(queries),
                "mode": "batch" if batch else "live",
            },
        )
        if batch:
            run, summary = _follow_batch(client, run["runId"], queries, wait, poll_seconds, as_json)
            if summary is None:
                return
            _report_stress_test(run, summary, max_loss_share, as_json)
            return
        started = time.monotonic()
        with click.progressbar(
            length=len(queries), label=f"{run['baseline']} vs {run['candidate']}", file=sys.stderr
        ) as bar:
            for _ in run_all(client, run["runId"], queries, concurrency, bar.update):
                pass
        summary = client.post(
            f"/api/stress-tests/{run['runId']}/finish", {"durationSeconds": round(time.monotonic() - started, 3)}
        )
    except ApiError as error:
        raise click.ClickException(str(error)) from error
    _report_stress_test(run, summary, max_loss_share, as_json)


def _follow_batch(
    client: ApiClient, run_id: str, queries: list[Any] | None, wait: bool, poll_seconds: float, as_json: bool
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Hand over the queries (a new run), then poll until the run is done; (run, summary or None)."""
    import time

    from replyloop.operations.stress_test import add_batch_queries, poll_batch

    try:
        if queries is not None:
            with click.progressbar(length=len(queries), label=f"Adding queries to {run_id}", file=sys.stderr) as bar:
                add_batch_queries(client, run_id, queries, bar.update)
        progress = poll_batch(client, run_id)
        shown = ""
        while True:
            line = _batch_line(progress)
            if line != shown:
                click.echo(line, err=True)
                shown = line
            if progress["stage"] in ("finished", "failed") or not wait:
                break
            time.sleep(poll_seconds)
            progress = poll_batch(client, run_id)
    except ApiError as error:
        raise click.ClickException(str(error)) from error
    if progress["stage"] == "failed":
        raise click.ClickException(f"Stress test {run_id} failed: {progress.get('reason')}")
    if progress["failedCases"]:
        click.echo(f"{progress['failedCases']} queries left out (a request failed or expired):", err=True)
        for left_out in progress["errors"][:5]:
            click.echo(f"  {left_out['caseId']}: {left_out['message']}"[:200], err=True)
    if progress["stage"] != "finished":
        resume = f"replyloop stress-test --resume {run_id}"
        if as_json:
            click.echo(json.dumps({"runId": run_id, "stage": progress["stage"], "resume": resume}, indent=2))
        else:
            click.echo(f"Batch stress test {run_id} is {progress['stage']}; follow it with `{resume}`.")
        return progress, None
    return progress, progress["summary"]


def _batch_line(progress: dict[str, Any]) -> str:
    counts = progress.get("requestCounts")
    detail = f"{counts['completed']}/{counts['total']} done, {counts['failed']} failed" if counts else ""
    batch = f"batch {progress['batchId']} {progress.get('batchStatus') or ''}" if progress.get("batchId") else ""
    return f"  {progress['runId']}  {progress['stage']:10} {batch}  {detail}".rstrip()


def _report_stress_test(run: dict[str, Any], summary: dict[str, Any], max_loss_share: float, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {"runId": run["runId"], "baseline": run["baseline"], "candidate": run["candidate"], **summary}, indent=2
            )
        )
    else:
        _print_report(run, summary)
    if summary["lossShare"] > max_loss_share:
        click.echo(
            f"Drift guard: {run['candidate']} lost on {summary['lossShare']:.0%} of queries "
            f"(limit {max_loss_share:.0%}).",
            err=True,
        )
        sys.exit(3)


def _print_report(run: dict[str, Any], summary: dict[str, Any]) -> None:
    base, cand = run["baseline"], run["candidate"]
    click.echo(f"Stress test {run['runId']}: {cand} (candidate) vs {base} (baseline), {summary['cases']} queries")
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
