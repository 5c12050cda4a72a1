"""``hull network`` (create, ls, inspect, rm, prune, connect, disconnect) and ``hull port``,
with Docker's flags and output."""

from __future__ import annotations

from typing import Any

import click

from hull.cli.context import engine_of
from hull.cli.main import LazyGroup
from hull.cli.options import parse_filters

NETWORK_HEADERS = {
    "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
    "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT",
}
DEFAULT_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"


def _key_values(items: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def row(net: Any, no_trunc: bool) -> dict[str, str]:
    """The fields ``--format`` sees (Docker's networkContext)."""
    return {
        "ID": net.id if no_trunc else net.short_id, "Name": net.name, "Driver": net.driver,
        "Scope": "local", "IPv6": "false", "Internal": str(net.internal).lower(),
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(net.labels.items())),
        "CreatedAt": net.created,
    }


@click.command("create", short_help="Create a network")
@click.argument("name")
@click.option("-d", "--driver", default="bridge", show_default=True,
              help="Driver to manage the Network.")
@click.option("--subnet", default=None, help="Subnet in CIDR format.")
@click.option("--gateway", default=None, help="IPv4 Gateway for the master subnet.")
@click.option("--ip-range", default=None, help="Allocate container ip from a sub-range.")
@click.option("--internal", is_flag=True, help="Restrict external access to the network.")
@click.option("--label", "labels", multiple=True, help="Set metadata on a network.")
@click.option("-o", "--opt", "opts", multiple=True, help="Set driver specific options.")
@click.pass_context
def create(ctx: click.Context, name: str, driver: str, subnet: str | None, gateway: str | None,
           ip_range: str | None, internal: bool, labels: tuple[str, ...],
           opts: tuple[str, ...]) -> None:
    """Create a network."""
    net = engine_of(ctx).networks.create(name, driver, subnet, gateway, ip_range, internal,
                                         _key_values(labels), _key_values(opts))
    click.echo(net.id)


@click.command("ls", short_help="List networks")
@click.option("-f", "--filter", "filters", multiple=True,
              help="Provide filter values (e.g. 'driver=bridge').")
@click.option("--format", "fmt", default="", help="Pretty-print networks using a Go template.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output.")
@click.option("-q", "--quiet", is_flag=True, help="Only display network IDs.")
@click.pass_context
def ls(ctx: click.Context, filters: tuple[str, ...], fmt: str, no_trunc: bool,
       quiet: bool) -> None:
    """List networks."""
    nets = engine_of(ctx).networks.list(parse_filters(filters))
    if quiet and not fmt:
        for net in nets:
            click.echo(net.id if no_trunc else net.short_id)
        return
    from hull.cli.formatting import render_list

    click.echo(render_list(fmt, [row(n, no_trunc) for n in nets], NETWORK_HEADERS,
                           DEFAULT_TABLE), nl=False)


@click.command("inspect", short_help="Display detailed information on one or more networks")
@click.argument("names", nargs=-1, required=True, metavar="NETWORK [NETWORK...]")
@click.option("-f", "--format", "fmt", default="", help="Format output using a Go template.")
@click.pass_context
def inspect(ctx: click.Context, names: tuple[str, ...], fmt: str) -> None:
    """Display detailed information on one or more networks."""
    from hull.cli.commands.inspect import print_inspect

    print_inspect(ctx, names, fmt, engine_of(ctx).networks.inspect, "network")


@click.command("rm", short_help="Remove one or more networks")
@click.argument("names", nargs=-1, required=True, metavar="NETWORK [NETWORK...]")
@click.pass_context
def rm(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Remove one or more networks."""
    from hull.cli.commands.container import for_each

    service = engine_of(ctx).networks
    for_each(ctx, names, lambda n: (service.remove(n), n)[1])


@click.command("prune", short_help="Remove all unused networks")
@click.option("--filter", "filters", multiple=True,
              help="Provide filter values (e.g. 'until=<timestamp>').")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_context
def prune(ctx: click.Context, filters: tuple[str, ...], force: bool) -> None:
    """Remove all unused networks."""
    parsed = parse_filters(filters)
    if not force:
        click.echo("WARNING! This will remove all custom networks not used by at least one"
                   " container.")
        if not click.confirm("Are you sure you want to continue?", default=False,
                             show_default=True, prompt_suffix=" "):
            return
    removed = engine_of(ctx).networks.prune(parsed)
    if removed:
        click.echo("Deleted Networks:")
        for name in removed:
            click.echo(name)
        click.echo("")


@click.command("connect", short_help="Connect a container to a network")
@click.argument("network")
@click.argument("container")
@click.option("--alias", "aliases", multiple=True, help="Add network-scoped alias for the"
              " container.")
@click.option("--ip", default=None, help="IPv4 address (e.g., 172.30.100.104).")
@click.pass_context
def connect(ctx: click.Context, network: str, container: str, aliases: tuple[str, ...],
            ip: str | None) -> None:
    """Connect a container to a network."""
    engine_of(ctx).networks.connect(network, container, list(aliases), ip)


@click.command("disconnect", short_help="Disconnect a container from a network")
@click.argument("network")
@click.argument("container")
@click.option("-f", "--force", is_flag=True, help="Force the container to disconnect from a"
              " network.")
@click.pass_context
def disconnect(ctx: click.Context, network: str, container: str, force: bool) -> None:
    """Disconnect a container from a network."""
    engine_of(ctx).networks.disconnect(network, container, force)


NETWORK_COMMANDS = {
    "create": "hull.cli.commands.network:create",
    "ls": "hull.cli.commands.network:ls",
    "list": "hull.cli.commands.network:ls",
    "inspect": "hull.cli.commands.network:inspect",
    "rm": "hull.cli.commands.network:rm",
    "remove": "hull.cli.commands.network:rm",
    "prune": "hull.cli.commands.network:prune",
    "connect": "hull.cli.commands.network:connect",
    "disconnect": "hull.cli.commands.network:disconnect",
}


@click.group("network", cls=LazyGroup, lazy=NETWORK_COMMANDS, short_help="Manage networks")
def network_group() -> None:
    """Manage networks."""


@click.command("port", short_help="List port mappings or a specific mapping for the container")
@click.argument("container")
@click.argument("private_port", required=False, metavar="[PRIVATE_PORT[/PROTO]]")
@click.pass_context
def port(ctx: click.Context, container: str, private_port: str | None) -> None:
    """List port mappings or a specific mapping for the container."""
    from hull.errors import NotFound

    engine = engine_of(ctx)
    c = engine.containers.get(container)
    mappings = engine.networks.ports(c.id) if c.running else []
    if private_port:
        number, _, proto = private_port.partition("/")
        proto = proto or "tcp"
        found = [m for m in mappings if str(m[3]) == number and m[0] == proto]
        if not found:
            raise NotFound(f"No public port '{number}/{proto}' published for {container}")
        for _, ip, host_port, _ in found:
            click.echo(f"{ip}:{host_port}")
        return
    for proto, ip, host_port, cport in mappings:
        click.echo(f"{cport}/{proto} -> {ip}:{host_port}")
