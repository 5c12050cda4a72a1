"""``hull build`` and ``hull builder prune``."""

from __future__ import annotations

import click

from hull.cli.commands.build_core import BUILD_OPTIONS, PROGRESS_MODES, run_build
from hull.cli.context import engine_of
from hull.cli.fastparse import click_options


@click.command("build", short_help="Build an image from a Dockerfile")
@click.argument("context", required=False)
@click_options(BUILD_OPTIONS)
@click.option("--progress", type=click.Choice(PROGRESS_MODES), default="auto",
              help="Type of progress output.")
@click.option("--rm", "_rm", is_flag=True, hidden=True)
@click.option("--force-rm", "_force_rm", is_flag=True, hidden=True)
@click.pass_context
def build(ctx: click.Context, context: str | None, **opts: object) -> None:
    """Build an image from a Dockerfile and a context (a directory, a tar, or -)."""
    if opts["network"] is None:
        opts["network"] = "default"
    run_build(engine_of(ctx), opts, context)


@click.group("builder", short_help="Manage builds")
def builder_group() -> None:
    """Manage builds."""


@builder_group.command("prune", short_help="Remove build cache")
@click.option("-a", "--all", "all_", is_flag=True, help="Remove all unused build cache.")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_context
def prune(ctx: click.Context, all_: bool, force: bool) -> None:
    """Remove build cache."""
    from hull.cli.humanize import human_size

    if not force and not click.confirm(
            "WARNING! This will remove all dangling build cache. Are you sure you want to "
            "continue?", default=False):
        return
    result = engine_of(ctx).builds.prune()
    click.echo(f"Deleted build cache objects: {result.entries}")
    click.echo(f"Total reclaimed space: {human_size(result.reclaimed)}")
