"""``hull ps``: list containers with Docker's columns, STATUS text, filters and templates."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from hull.cli.context import engine_of
from hull.cli.options import parse_filters

if TYPE_CHECKING:
    from hull.engine.container_model import Container
    from hull.engine.containers import ContainerService

PS_HEADERS = {
    "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED", "Ports": "PORTS", "Status": "STATUS", "Size": "SIZE",
    "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS", "Networks": "NETWORKS",
    "LocalVolumes": "LOCAL VOLUMES", "State": "STATE", "Platform": "PLATFORM",
}
DEFAULT_TABLE = ("table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}"
                 "\t{{.Ports}}\t{{.Names}}")
COMMAND_WIDTH = 20


def ellipsis(text: str, width: int) -> str:
    """Docker's formatter.Ellipsis: cut to ``width`` characters ending in an ellipsis."""
    if len(text) <= width:
        return text
    return text[:width - 1] + "\u2026" if width > 1 else text[:width]


def go_quote(text: str) -> str:
    """Go's strconv.Quote for the COMMAND column."""
    out = ['"']
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def image_column(service: ContainerService, c: Container, no_trunc: bool) -> str:
    """The name the user gave, unless it now means another image: then the image id."""
    name = c.config.get("Image") or ""
    if name and service.image_of_name(name) == c.image_id:
        return name
    return c.image_id if no_trunc else c.image_id.split(":", 1)[-1][:12]


def row(service: ContainerService, c: Container, no_trunc: bool, size: bool,
        now: float) -> dict[str, Any]:
    from hull.cli.humanize import human_duration, human_size
    from hull.network.display import ports_column

    command = c.command_line()
    labels = c.config.get("Labels") or {}
    out: dict[str, Any] = {
        "ID": c.id if no_trunc else c.short_id,
        "Image": image_column(service, c, no_trunc),
        "Command": go_quote(command if no_trunc else ellipsis(command, COMMAND_WIDTH)),
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(c.created_at)),
        "RunningFor": human_duration(now - c.created_at) + " ago",
        "Ports": ports_column((c.data.get("NetworkSettings") or {}).get("Ports")),
        "Status": c.status_text(now),
        "Names": c.name,
        "Labels": ",".join(f"{k}={v}" for k, v in labels.items()),
        "Mounts": "",
        "Networks": ",".join((c.data.get("NetworkSettings") or {}).get("Networks") or {}),
        "LocalVolumes": "0",
        "State": c.status,
        "Size": "",
    }
    if size:
        rw, rootfs = service.size(c)
        out["Size"] = f"{human_size(rw)} (virtual {human_size(rootfs)})"
    return out


@click.command("ps", short_help="List containers")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all containers (default shows"
              " just running).")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output based on"
              " conditions provided.")
@click.option("--format", "fmt", default="", help="Pretty-print containers using a Go"
              " template.")
@click.option("-n", "--last", type=int, default=-1, help="Show n last created containers"
              " (includes all states).")
@click.option("-l", "--latest", is_flag=True, help="Show the latest created container"
              " (includes all states).")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Only display container IDs.")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes.")
@click.pass_context
def ps(ctx: click.Context, show_all: bool, filters: tuple[str, ...], fmt: str, last: int,
       latest: bool, no_trunc: bool, quiet: bool, size: bool) -> None:
    """List containers."""
    from hull.engine.container_query import filter_containers

    service = engine_of(ctx).containers
    parsed = parse_filters(filters)
    containers = service.list()
    if latest:
        last = 1
    if last >= 0 or "exited" in parsed or "status" in parsed:
        show_all = True
    if not show_all:
        containers = [c for c in containers if c.running]
    containers = filter_containers(service, containers, parsed)
    if last >= 0:
        containers = containers[:last]
    if quiet and not fmt:
        for c in containers:
            click.echo(c.id if no_trunc else c.short_id)
        return
    now = time.time()
    wants_size = size or ".Size" in fmt
    rows = [row(service, c, no_trunc, wants_size, now) for c in containers]
    from hull.cli.formatting import render_list

    default = DEFAULT_TABLE + ("\t{{.Size}}" if size else "")
    out = render_list(fmt, rows, PS_HEADERS, default)  # type: ignore[arg-type]
    if out:
        click.echo(out, nl=not out.endswith("\n"))
