"""`replyloop console`: publish the built web console to a deployed stack."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("console", short_help="Publish the web console to a deployed stack.")
def console_group() -> None:
    """The web console: locally it is served at the stack's URL; in AWS, publish it to the stack."""


@console_group.command("publish", short_help="Upload the built console to a deployed stack.")
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
