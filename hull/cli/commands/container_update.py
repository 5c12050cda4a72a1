"""``hull update``: change a container's restart policy, also while it runs."""

from __future__ import annotations

import click

from hull.cli.context import engine_of


@click.command("update", short_help="Update configuration of one or more containers")
@click.option("--restart", default=None, help="Restart policy to apply when a container exits.")
@click.argument("names", nargs=-1, required=True, metavar="CONTAINER [CONTAINER...]")
@click.pass_context
def update(ctx: click.Context, restart: str | None, names: tuple[str, ...]) -> None:
    """Update configuration of one or more containers."""
    from hull.cli.commands.container import for_each
    from hull.engine.container_restart import update_restart_policy
    from hull.errors import InvalidArgument

    if restart is None:
        raise InvalidArgument("you must provide one or more flags when using this command")
    service = engine_of(ctx).containers
    for_each(ctx, names, lambda n: (update_restart_policy(service, n, restart), n)[1])
