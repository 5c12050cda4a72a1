"""``hull exec`` as a click command; the work is in :mod:`hull.cli.commands.exec_core`,
which also answers a plain ``hull exec`` without loading click at all."""

from __future__ import annotations

from typing import Any

import click

from hull.cli.context import engine_of


@click.command("exec", context_settings={"allow_interspersed_args": False},
               short_help="Run a command in a running container")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY.")
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run command in the"
              " background.")
@click.option("-u", "--user", default="", help="Username or UID (format: <name|uid>[:<group|gid>]).")
@click.option("-w", "--workdir", default="", help="Working directory inside the container.")
@click.option("-e", "--env", multiple=True, help="Set environment variables.")
@click.option("--env-file", multiple=True, help="Read in a file of environment variables.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command.")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching.")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_(ctx: click.Context, container: str, command: tuple[str, ...], **opts: Any) -> None:
    """Run a command in a running container."""
    from hull.cli.commands.exec_core import run_exec

    ctx.exit(run_exec(lambda: engine_of(ctx), container, list(command), opts))
