"""What several command groups share: where the stack is, and how to sign in to it."""

from __future__ import annotations

import click

from replyloop.client import default_url
from replyloop.domain.auth import Role

URL_OPTION = click.option(
    "--url",
    default=default_url,
    show_default="$REPLYLOOP_URL or http://127.0.0.1:3000",
    help="Base URL of the replyloop stack (the local one, or a deployed API's URL).",
)
TOKEN_OPTION = click.option(
    "--token",
    envvar="REPLYLOOP_TOKEN",
    default=None,
    help="Bearer token (default for a local stack: a dev admin token).",
)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def resolve_token(url: str, token: str | None, role: Role = Role.ADMIN) -> str:
    """The given token; or, for a stack on this machine, a dev token signed with the local key."""
    if token:
        return token
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    if host in LOCAL_HOSTS:
        from replyloop.local.tokens import issue_token

        return issue_token(role, username="dev-cli")
    raise click.ClickException(
        f"{url} is not a local stack: pass --token (or set REPLYLOOP_TOKEN) with an admin token."
    )
