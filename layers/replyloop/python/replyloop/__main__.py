"""`python -m replyloop` is the `replyloop` command."""

from replyloop.cli import main

main()
