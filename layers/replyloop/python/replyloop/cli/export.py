"""`replyloop export`: the retrain flow's training data export, against any stack, into a directory."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from replyloop.cli.options import TOKEN_OPTION, URL_OPTION, resolve_token
from replyloop.client import ApiClient, ApiError


@click.command("export", short_help="Export training data as OpenAI fine-tuning JSONL.")
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
    from datetime import UTC, datetime

    from replyloop.operations.export import ExportSetupError, plan_export, run_export
    from replyloop.services.export import ExportOptions

    client = ApiClient(url, resolve_token(url, token))
    options = ExportOptions(lookback_days=days, min_not_useful=min_not_useful, validation_share=validation_share)
    try:
        plan = plan_export(client, options, datetime.now(UTC))
        with click.progressbar(length=plan.expected_rows, label=f"Exporting {url}", file=sys.stderr) as bar:
            result = run_export(plan, out_dir, progress=bar.update)
    except (ApiError, ExportSetupError) as error:
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
