"""The `replyloop` command: run the local stack, get dev tokens, load demo data.

Each command group is its own module (`dev`, `console`, `dlq`, `erase`, `export`, `redact`, `retrain`,
`stress_test`); they parse arguments, print and choose exit codes, and leave the work to `replyloop.operations`.
"""

from __future__ import annotations

import click

from replyloop import __version__
from replyloop.cli.console import console_group
from replyloop.cli.dev import dev
from replyloop.cli.dlq import dlq
from replyloop.cli.erase import erase
from replyloop.cli.export import export
from replyloop.cli.redact import redact
from replyloop.cli.retrain import retrain
from replyloop.cli.stress_test import stress_test


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="replyloop")
def main() -> None:
    """replyloop: an AI support assistant that learns from the agents who correct it.

    Start here: `replyloop dev start` runs the whole system on this machine (no AWS account,
    no OpenAI key); `replyloop dev token --role agent` prints a token for its API.
    """


for command in (dev, console_group, dlq, erase, export, redact, retrain, stress_test):
    main.add_command(command)
