"""``hull system``: engine-wide commands; ``restore`` runs at boot (contrib/hull-restore.service)
and starts the containers whose restart policy asks to be running again."""

from __future__ import annotations

import click

from hull.cli.context import engine_of


@click.group("system", short_help="Manage hull")
def system_group() -> None:
    """Manage hull."""


@system_group.command("restore", short_help="Start the containers that should run after a"
                      " reboot")
@click.pass_context
def restore(ctx: click.Context) -> None:
    """Start 'always' containers, and 'unless-stopped' ones no user stopped."""
    from hull.engine.container_restart import restore as restore_all

    failed = False
    for name, error in restore_all(engine_of(ctx).containers):
        if error is None:
            click.echo(name)
        else:
            click.echo(f"Error: {name}: {error}", err=True)
            failed = True
    if failed:
        ctx.exit(1)
