"""``hull exec`` as a click command; the work is in :mod:`hull.cli.commands.exec_core`,
which also answers a plain ``hull exec`` without loading click at all."""

from __future__ import annotations

from typing import Any

import click

from hull.cli.context import engine_of
from hull.cli.fastparse import click_options
from hull.cli.run_options import EXEC_OPTIONS


@click.command("exec", context_settings={"allow_interspersed_args": False},
               short_help="Run a command in a running container")
@click_options(EXEC_OPTIONS)
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_(ctx: click.Context, container: str, command: tuple[str, ...], **opts: Any) -> None:
    """Run a command in a running container."""
    from hull.cli.commands.exec_core import run_exec

    ctx.exit(run_exec(lambda: engine_of(ctx), container, list(command), opts))
