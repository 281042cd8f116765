"""`replyloop redact`: audit the redactor on your own data, with the code the export runs."""

from __future__ import annotations

import json
import sys

import click


@click.command("redact", short_help="Redact personal data from text on stdin (audit the redactor).")
@click.option("--json", "as_json", is_flag=True, help="Read a JSON string per line; write {text, removed} per line.")
@click.option(
    "--region",
    default="US",
    show_default=True,
    help="Region for phone numbers without a country prefix (ISO 3166 code, e.g. GB, DE).",
)
def redact(as_json: bool, region: str) -> None:
    """Read one text per line on stdin and write it redacted, as the training export would.

    \b
    Plain mode: the redacted line, and on stderr what was removed by kind.
    --json: each input line is a JSON string; each output line is
            {"text": <redacted>, "removed": {"name": 2, "email": 1, ...}}.
    Exit 1 on a line that is not a JSON string (with --json), naming the line.
    """
    from replyloop.adapters.redaction import redact as redact_text

    for number, line in enumerate(sys.stdin, start=1):
        raw = line.rstrip("\n")
        if as_json:
            try:
                text = json.loads(raw)
            except ValueError as error:
                raise click.ClickException(f"Line {number} is not JSON: {error}.") from error
            if not isinstance(text, str):
                raise click.ClickException(f"Line {number} is not a JSON string.")
        else:
            text = raw
        result = redact_text(text, default_region=region.upper())
        if as_json:
            click.echo(json.dumps({"text": result.text, "removed": dict(result.removed)}, ensure_ascii=False))
        else:
            click.echo(result.text)
            if result.removed:
                click.echo("  removed: " + ", ".join(f"{kind} {n}" for kind, n in result.removed.items()), err=True)
