"""`replyloop erase`: erase one customer's data (admin), as `DELETE /api/customers/{customerId}` does."""

from __future__ import annotations

import json
import sys

import click

from replyloop.cli.options import TOKEN_OPTION, URL_OPTION, resolve_token
from replyloop.client import ApiClient, ApiError


@click.command(short_help="Erase one customer's data (admin).")
@click.argument("customer_id")
@URL_OPTION
@TOKEN_OPTION
@click.option(
    "--wait",
    "wait_seconds",
    type=click.IntRange(0, 3600),
    default=600,
    show_default=True,
    help="Seconds to wait for an erasure the request could not finish (the sweeper carries on every 5 minutes).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the erasure's record as JSON.")
def erase(url: str, token: str | None, customer_id: str, wait_seconds: int, as_json: bool) -> None:
    """Erase CUSTOMER_ID's data: every interaction recorded with that `customerId` and everything learned from
    it (verdicts and their history, training data, explanations, improvements, stress-test cases), and its lines
    in every export file. Counted figures stay. See docs/privacy.md.

    \b
    Exit codes: 0 erased; 3 still pending after --wait (read it later: GET /api/erasures/<id>); 1 refused.
    """
    from replyloop.models.customers import ErasureView
    from replyloop.operations.erasure import erase_customer

    def progress(erasure: ErasureView) -> None:
        click.echo(f"  pending: {erasure.interactions} interactions erased so far ...", err=True)

    try:
        client = ApiClient(url, resolve_token(url, token))
        erasure = erase_customer(client, customer_id, wait_seconds=wait_seconds, progress=progress)
    except ApiError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(erasure.model_dump(mode="json", by_alias=True)))
    else:
        click.echo(
            f"Erasure {erasure.erasure_id}: {erasure.status}; {erasure.interactions} interactions, {erasure.items} "
            f"items, {erasure.stress_cases} stress-test cases, {erasure.export_objects} export files rewritten."
        )
    sys.exit(0 if erasure.status == "done" else 3)
