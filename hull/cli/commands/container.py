"""Container lifecycle commands: start, stop, restart, kill, pause, unpause, wait, rm, rename,
top, and the ``container`` group (which also holds ls, inspect and prune).

Commands that take several containers act on each and report failures per container the
way Docker does: the names that worked on stdout, one ``Error response from daemon:``-style
line per failure on stderr, exit status 1 if any failed.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from hull.cli.context import engine_of
from hull.cli.main import CONTAINER_COMMANDS, LazyGroup
from hull.errors import HullError


def for_each(ctx: click.Context, names: tuple[str, ...], action: Callable[[str], object],
             echo: bool = True) -> None:
    failed = False
    for name in names:
        try:
            result = action(name)
        except HullError as e:
            click.echo(f"Error: {e}", err=True)
            failed = True
            continue
        if echo:
            click.echo(result if isinstance(result, str | int) else name)
    if failed:
        ctx.exit(1)


@click.command("start", short_help="Start one or more stopped containers")
@click.argument("names", nargs=-1, required=True, metavar="CONTAINER [CONTAINER...]")
@click.option("-a", "--attach", is_flag=True, help="Attach STDOUT/STDERR and forward signals.")
@click.option("-i", "--interactive", is_flag=True, help="Attach container's STDIN.")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching a"
              " container.")
@click.pass_context
def start(ctx: click.Context, names: tuple[str, ...], attach: bool, interactive: bool,
          detach_keys: str | None) -> None:
    """Start one or more stopped containers."""
    service = engine_of(ctx).containers
    if attach or interactive:
        if len(names) > 1:
            raise click.UsageError("you cannot start and attach multiple containers at once")
        from hull.shim.client import connect_attach, stream

        c = service.get(names[0])
        tty = bool(c.config.get("Tty"))
        started = service.start(c.id, attach=True)
        reader = None
        if started is None:  # already running: attach to it
            sock = connect_attach(service.paths(c.id).attach_socket, stdin=interactive)
        else:
            sock, reader = started.sock, started.reader
        ctx.exit(stream(sock, stdin=interactive and bool(c.config.get("OpenStdin")), tty=tty,
                        reader=reader, detach_keys=detach_keys))

    def one(name: str) -> str:
        started = service.start(name)
        if started is not None:
            started.sock.close()
        return name

    for_each(ctx, names, one)


@click.command("stop", short_help="Stop one or more running containers")
@click.argument("names", nargs=-1, required=True, metavar="CONTAINER [CONTAINER...]")
@click.option("-t", "--time", "timeout", type=int, default=None,
              help="Seconds to wait for stop before killing it (default 10).")
@click.pass_context
def stop(ctx: click.Context, names: tuple[str, ...], timeout: int | None) -> None:
    """Stop one or more running containers."""
    service = engine_of(ctx).containers
    for_each(ctx, names, lambda n: (service.stop(n, timeout), n)[1])


@click.command("restart", short_help="Restart one or more containers")
@click.argument("names", nargs=-1, required=True, metavar="CONTAINER [CONTAINER...]")
@click.option("-t", "--time", "timeout", type=int, default=None,
              help="Seconds to wait for stop before killing the container (default 10).")
@click.pass_context
def restart(ctx: click.Context, names: tuple[str, ...], timeout: int | None) -> None:
    """Restart one or more containers."""
    service = engine_of(ctx).containers

    def one(name: str) -> str:
        started = service.restart(name, timeout)
        if started is not None:
            started.sock.close()
        return name

    for_each(ctx, names, one)


@click.command("kill", short_help="Kill one or more running containers")
@click.argument("names", nargs=-1, required=True, metavar="CONTAINER [CONTAINER...]")
@click.option("-s", "--signal", "sig", default="KILL", help="Signal to send to the container.")
@click.pass_context
def kill(ctx: click.Context, names: tuple[str, ...], sig: str) -> None:
    """Kill one or more running containers."""
    service = engine_of(ctx).containers
    for_each(ctx, names, lambda n: (service.kill(n, sig), n)[1])


@click.command("pause", short_help="Pause all processes within one or more containers")
@click.argument("names", nargs=-1, required=True, metavar="CONTAINER [CONTAINER...]")
@click.pass_context
def pause(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Pause all processes within one or more containers."""
    service = engine_of(ctx).containers
    for_each(ctx, names, lambda n: (service.pause(n), n)[1])


@click.command("unpause", short_help="Unpause all processes within one or more containers")
@click.argument("names", nargs=-1, required=True, metavar="CONTAINER [CONTAINER...]")
@click.pass_context
def unpause(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Unpause all processes within one or more containers."""
    service = engine_of(ctx).containers
    for_each(ctx, names, lambda n: (service.unpause(n), n)[1])


@click.command("wait", short_help="Block until containers stop, then print their exit codes")
@click.argument("names", nargs=-1, required=True, metavar="CONTAINER [CONTAINER...]")
@click.pass_context
def wait(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Block until one or more containers stop, then print their exit codes."""
    service = engine_of(ctx).containers
    for_each(ctx, names, lambda n: service.wait(n))


@click.command("rm", short_help="Remove one or more containers")
@click.argument("names", nargs=-1, required=True, metavar="CONTAINER [CONTAINER...]")
@click.option("-f", "--force", is_flag=True, help="Force the removal of a running container.")
@click.option("-v", "--volumes", is_flag=True, help="Remove anonymous volumes of the container.")
@click.option("-l", "--link", is_flag=True, help="Remove the specified link.")
@click.pass_context
def rm(ctx: click.Context, names: tuple[str, ...], force: bool, volumes: bool,
       link: bool) -> None:
    """Remove one or more containers."""
    service = engine_of(ctx).containers

    def one(name: str) -> str:
        if not volumes:
            service.remove(name, force=force)
            return name
        anonymous = engine_of(ctx).volumes.anonymous_of(service.get(name).id)
        service.remove(name, force=force)
        engine_of(ctx).volumes.remove_unused(anonymous)
        return name

    for_each(ctx, names, one)


@click.command("rename", short_help="Rename a container")
@click.argument("container")
@click.argument("new_name")
@click.pass_context
def rename(ctx: click.Context, container: str, new_name: str) -> None:
    """Rename a container."""
    engine_of(ctx).containers.rename(container, new_name)


@click.command("top", context_settings={"allow_interspersed_args": False},
               short_help="Display the running processes of a container")
@click.argument("container")
@click.argument("ps_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def top(ctx: click.Context, container: str, ps_args: tuple[str, ...]) -> None:
    """Display the running processes of a container."""
    from hull.cli.formatting import tabwrite

    titles, rows = engine_of(ctx).containers.top(container, " ".join(ps_args) or "-ef")
    lines = ["\t".join(titles)] + ["\t".join(r) for r in rows]
    click.echo(tabwrite("\n".join(lines) + "\n", minwidth=20, padding=1), nl=False)


@click.command("prune", short_help="Remove all stopped containers")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option("--filter", "filters", multiple=True, help="Provide filter values"
              " (e.g. 'until=<timestamp>').")
@click.pass_context
def prune(ctx: click.Context, force: bool, filters: tuple[str, ...]) -> None:
    """Remove all stopped containers."""
    from hull.cli.humanize import human_size
    from hull.cli.options import parse_filters

    parsed = parse_filters(filters)
    if not force:
        click.echo("WARNING! This will remove all stopped containers.")
        if not click.confirm("Are you sure you want to continue?", default=False):
            return
    removed, reclaimed = engine_of(ctx).containers.prune(parsed)
    if removed:
        click.echo("Deleted Containers:")
        for cid in removed:
            click.echo(cid)
        click.echo("")
    click.echo(f"Total reclaimed space: {human_size(reclaimed)}")


@click.command("inspect", short_help="Display detailed information on one or more containers")
@click.argument("names", nargs=-1, required=True, metavar="CONTAINER [CONTAINER...]")
@click.option("-f", "--format", "fmt", default="", help="Format output using a Go template.")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes.")
@click.pass_context
def inspect(ctx: click.Context, names: tuple[str, ...], fmt: str, size: bool) -> None:
    """Display detailed information on one or more containers."""
    from hull.cli.commands.inspect import print_inspect

    service = engine_of(ctx).containers
    print_inspect(ctx, names, fmt, lambda n: service.inspect(n, size=size), "container")


GROUP_COMMANDS = {
    **CONTAINER_COMMANDS,
    "ls": "hull.cli.commands.container_ps:ps",
    "list": "hull.cli.commands.container_ps:ps",
    "prune": "hull.cli.commands.container:prune",
    "inspect": "hull.cli.commands.container:inspect",
}


@click.group("container", cls=LazyGroup, lazy=GROUP_COMMANDS, short_help="Manage containers")
def container_group() -> None:
    """Manage containers."""
