"""``hull volume``: create, ls, inspect, rm and prune, with Docker's flags and output."""

from __future__ import annotations

import re
from typing import Any

import click

from hull.cli.context import engine_of
from hull.cli.main import LazyGroup
from hull.cli.options import parse_filters

VOLUME_HEADERS = {
    "Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
    "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Group": "GROUP",
    "Availability": "AVAILABILITY", "Status": "STATUS",
}
DEFAULT_TABLE = "table {{.Driver}}\t{{.Name}}"


def _key_values(items: tuple[str, ...]) -> dict[str, str]:
    """``key=value`` flags as a map; a bare ``key`` maps to an empty value (Docker's)."""
    out: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def natural_key(name: str) -> list[Any]:
    """Order names as Docker's sortorder.NaturalLess does: digit runs compare as numbers."""
    return [(0, int(part), part) if part.isdigit() else (1, 0, part)
            for part in re.findall(r"\d+|\D+", name)]


def row(doc: dict[str, Any]) -> dict[str, str]:
    """The fields ``--format`` sees, keys sorted as Docker marshals them for ``{{json .}}``."""
    labels = doc.get("Labels") or {}
    fields = {
        "Name": doc["Name"], "Driver": doc["Driver"], "Scope": doc["Scope"],
        "Mountpoint": doc["Mountpoint"],
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "Links": "N/A", "Size": "N/A", "Group": "N/A", "Availability": "N/A", "Status": "N/A",
    }
    return dict(sorted(fields.items()))


@click.command("create", short_help="Create a volume")
@click.argument("volume", required=False)
@click.option("-d", "--driver", default="local", show_default=True,
              help="Specify volume driver name.")
@click.option("--label", "labels", multiple=True, help="Set metadata for a volume.")
@click.option("-o", "--opt", "opts", multiple=True, help="Set driver specific options.")
@click.option("--name", default=None, help="Specify volume name.", hidden=True)
@click.pass_context
def create(ctx: click.Context, volume: str | None, driver: str, labels: tuple[str, ...],
           opts: tuple[str, ...], name: str | None) -> None:
    """Create a volume."""
    if volume and name and volume != name:
        raise click.UsageError("conflicting options: either specify --name or provide"
                               " positional arg, not both")
    doc = engine_of(ctx).volumes.create(volume or name or "", driver, _key_values(labels),
                                        _key_values(opts))
    click.echo(doc["Name"])


@click.command("ls", short_help="List volumes")
@click.option("-f", "--filter", "filters", multiple=True,
              help="Provide filter values (e.g. 'dangling=true').")
@click.option("--format", "fmt", default="", help="Format output using a Go template.")
@click.option("-q", "--quiet", is_flag=True, help="Only display volume names.")
@click.pass_context
def ls(ctx: click.Context, filters: tuple[str, ...], fmt: str, quiet: bool) -> None:
    """List volumes."""
    docs = engine_of(ctx).volumes.list(parse_filters(filters))
    docs.sort(key=lambda d: natural_key(d["Name"]))
    if quiet and not fmt:
        for doc in docs:
            click.echo(doc["Name"])
        return
    from hull.cli.formatting import render_list

    out = render_list(fmt, [row(d) for d in docs], VOLUME_HEADERS, DEFAULT_TABLE)
    click.echo(out, nl=False)


@click.command("inspect", short_help="Display detailed information on one or more volumes")
@click.argument("names", nargs=-1, required=True, metavar="VOLUME [VOLUME...]")
@click.option("-f", "--format", "fmt", default="", help="Format output using a Go template.")
@click.pass_context
def inspect(ctx: click.Context, names: tuple[str, ...], fmt: str) -> None:
    """Display detailed information on one or more volumes."""
    from hull.cli.commands.inspect import print_inspect

    service = engine_of(ctx).volumes
    print_inspect(ctx, names, fmt, service.inspect, "volume")


@click.command("rm", short_help="Remove one or more volumes")
@click.argument("names", nargs=-1, required=True, metavar="VOLUME [VOLUME...]")
@click.option("-f", "--force", is_flag=True,
              help="Force the removal of one or more volumes.")
@click.pass_context
def rm(ctx: click.Context, names: tuple[str, ...], force: bool) -> None:
    """Remove one or more volumes. You cannot remove a volume that is in use by a container."""
    from hull.cli.commands.container import for_each

    service = engine_of(ctx).volumes
    for_each(ctx, names, lambda n: (service.remove(n, force=force), n)[1])


@click.command("prune", short_help="Remove unused local volumes")
@click.option("-a", "--all", "all_volumes", is_flag=True,
              help="Remove all unused volumes, not just anonymous ones.")
@click.option("--filter", "filters", multiple=True,
              help="Provide filter values (e.g. 'label=<label>').")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_context
def prune(ctx: click.Context, all_volumes: bool, filters: tuple[str, ...], force: bool) -> None:
    """Remove unused local volumes."""
    from hull.cli.humanize import human_size

    parsed = parse_filters(filters)
    if not force:
        what = "all local volumes" if all_volumes else "anonymous local volumes"
        click.echo(f"WARNING! This will remove {what} not used by at least one container.")
        if not click.confirm("Are you sure you want to continue?", default=False,
                             show_default=True, prompt_suffix=" "):
            return
    removed, reclaimed = engine_of(ctx).volumes.prune(parsed, all_volumes)
    if removed:
        click.echo("Deleted Volumes:")
        for name in removed:
            click.echo(name)
        click.echo("")
    click.echo(f"Total reclaimed space: {human_size(reclaimed, 4)}")


VOLUME_COMMANDS = {
    "create": "hull.cli.commands.volume:create",
    "ls": "hull.cli.commands.volume:ls",
    "list": "hull.cli.commands.volume:ls",
    "inspect": "hull.cli.commands.volume:inspect",
    "rm": "hull.cli.commands.volume:rm",
    "remove": "hull.cli.commands.volume:rm",
    "prune": "hull.cli.commands.volume:prune",
}


@click.group("volume", cls=LazyGroup, lazy=VOLUME_COMMANDS, short_help="Manage volumes")
def volume_group() -> None:
    """Manage volumes."""
