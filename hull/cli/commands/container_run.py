"""``hull run`` and ``hull create``: the click commands (flags in :mod:`hull.cli.run_options`).

The work is in :mod:`hull.cli.commands.run_core`, which the entry point also calls directly
for ordinary command lines.
"""

from __future__ import annotations

from typing import Any

import click

from hull.cli.context import engine_of
from hull.cli.fastparse import click_options
from hull.cli.run_options import CONTAINER_OPTIONS, RUN_OPTIONS

RUN_SETTINGS = {"allow_interspersed_args": False, "help_option_names": ["--help"]}


@click.command("create", context_settings=RUN_SETTINGS, short_help="Create a new container")
@click_options(CONTAINER_OPTIONS)
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def create(ctx: click.Context, image: str, command: tuple[str, ...], **opts: Any) -> None:
    """Create a new container."""
    from hull.cli.commands.run_core import create_container

    click.echo(create_container(lambda: engine_of(ctx), image, command, opts))


@click.command("run", context_settings=RUN_SETTINGS,
               short_help="Run a command in a new container")
@click_options(RUN_OPTIONS)
@click.argument("image")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def run(ctx: click.Context, image: str, command: tuple[str, ...], **opts: Any) -> None:
    """Run a command in a new container."""
    from hull.cli.commands.run_core import run_container

    ctx.exit(run_container(lambda: engine_of(ctx), image, command, opts))
