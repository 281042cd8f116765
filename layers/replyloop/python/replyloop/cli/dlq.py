"""`replyloop dlq`: see the learning workers' dead jobs and send them back (local or deployed stack)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from replyloop.operations.connection import StackConnection

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


def _connect(stack_name: str | None) -> StackConnection:
    from replyloop.operations.connection import StackNotFoundError, connect

    try:
        return connect(stack_name)
    except StackNotFoundError as error:
        raise click.ClickException(str(error)) from error


@click.group(short_help="Inspect and replay dead jobs of the learning workers.")
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


@dlq.command("show", short_help="Each dead job, how often it was tried, its last error.")
@QUEUE_OPTION
@STACK_OPTION
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True, help="How many to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of text.")
def dlq_show(queue_name: str, stack_name: str | None, limit: int, as_json: bool) -> None:
    """Each dead job: its message id, the job, how often it was tried, and its last error (or, for a job
    that could never succeed, why its worker dead-lettered it at once)."""
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
                        "reason": message.reason,
                    }
                )
            )
            continue
        click.echo(f"{message.message_id}  tried {message.receive_count}x  job {message.body}")
        if message.reason:
            click.echo(f"    dead-lettered at once: {message.reason}")
        else:
            click.echo(f"    last error: {message.last_error or '(none recorded)'}")


@dlq.command("replay", short_help="Send every dead job back to its queue.")
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
