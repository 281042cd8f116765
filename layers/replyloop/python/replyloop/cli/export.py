"""`replyloop export`: the retrain flow's training data export, against any stack, into a directory."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from replyloop.cli.options import TOKEN_OPTION, URL_OPTION, resolve_token
from replyloop.client import ApiClient, ApiError


@click.command("export", short_help="Export training data as OpenAI or Bedrock fine-tuning JSONL.")
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
    help="Export the topics with more than this many 'not useful' verdicts in the window.",
)
@click.option(
    "--validation-share", type=click.FloatRange(0, 0.9), default=0.2, show_default=True, help="Share for validation."
)
@click.option(
    "--holdout-share",
    type=click.FloatRange(0.01, 0.9),
    default=0.25,
    show_default=True,
    help="Share of distinct messages held out for evaluation (never in a training or validation line).",
)
@click.option(
    "--training-policy",
    type=click.Choice(["reviewed", "judged"]),
    default="reviewed",
    show_default=True,
    help="reviewed: judge agreement and a reviewer; judged: judge agreement alone.",
)
@click.option("--version", default=None, help="Only this assistant version's verdicts (default: every source).")
@click.option(
    "--format",
    "data_format",
    type=click.Choice(["openai", "bedrock"]),
    default="openai",
    show_default=True,
    help="openai: chat lines and DPO pairs; bedrock: bedrock-conversation-2024 lines for a Bedrock model "
    "customization job (no DPO pairs).",
)
def export(
    url: str,
    token: str | None,
    out_dir: Path,
    days: int,
    min_not_useful: int,
    validation_share: float,
    holdout_share: float,
    training_policy: str,
    version: str | None,
    data_format: str,
) -> None:
    """Export training data as OpenAI (or, with --format bedrock, Bedrock) fine-tuning JSONL, the way the
    weekly retrain does.

    Reads every "not useful" verdict of the window through the HTTP API (any stack: --url), from
    replyloop's drafts and frontends alike, selects the topics with enough of them, applies the
    training policy, redacts personal data, drops duplicates and invalid lines, holds out a share of
    messages for evaluation, splits the rest train/validation with no message in two splits, and
    writes a manifest that accounts for every verdict (exported, held out, or excluded with a reason).
    """
    from datetime import UTC, datetime

    from replyloop.domain.runs import DataFormat
    from replyloop.domain.training import TrainingPolicy
    from replyloop.operations.export import ExportSetupError, plan_export, run_export
    from replyloop.services.export import ExportOptions

    client = ApiClient(url, resolve_token(url, token))
    chosen: DataFormat = "bedrock" if data_format == "bedrock" else "openai"
    options = ExportOptions(
        lookback_days=days,
        min_not_useful=min_not_useful,
        validation_share=validation_share,
        holdout_share=holdout_share,
        version=version,
        data_format=chosen,
    )
    policy: TrainingPolicy = "judged" if training_policy == "judged" else "reviewed"
    try:
        plan = plan_export(client, options, datetime.now(UTC), policy)
        with click.progressbar(length=plan.expected_rows, label=f"Exporting {url}", file=sys.stderr) as bar:
            result = run_export(plan, out_dir, progress=bar.update)
    except (ApiError, ExportSetupError) as error:
        raise click.ClickException(str(error)) from error
    topics = ", ".join(f"{topic} ({n})" for topic, n in result.topics.items()) or "(none selected)"
    click.echo(f"Read {result.rows} failed replies; topics selected: {topics}.")
    click.echo(f"Held out for evaluation: {result.held_out} (never in a training line).")
    click.echo(f"Format: {result.data_format}" + (" (bedrock-conversation-2024)" if chosen == "bedrock" else ""))
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
            f"Only {result.counts['train.jsonl']} training examples: a fine-tuning job needs at least 10; "
            "widen --days, lower --min-not-useful, or review pending corrections (GET /api/training-examples).",
            err=True,
        )
        sys.exit(2)
