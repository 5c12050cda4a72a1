"""``hull stats``: a live table of containers' resource usage, as Docker draws it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from hull.cli.context import engine_of

if TYPE_CHECKING:
    from hull.engine import Engine
    from hull.engine.container_model import Container
    from hull.engine.container_stats import Usage

DEFAULT_TABLE = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t"
                 "{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}")
HEADERS = {"ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
           "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
           "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}
CLEAR_SCREEN = "\033[2J\033[H"


def row(u: Usage, shown_as: str, no_trunc: bool) -> dict[str, Any]:
    """The template fields Docker's stats formatter offers."""
    from hull.cli.humanize import bytes_size, human_size

    return {
        "Container": shown_as,
        "ID": u.container_id if no_trunc else u.container_id[:12],
        "Name": u.name or "--",
        "CPUPerc": f"{u.cpu_percent:.2f}%",
        "MemUsage": f"{bytes_size(u.memory_usage)} / {bytes_size(u.memory_limit)}",
        "MemPerc": f"{u.memory_percent:.2f}%",
        "NetIO": f"{human_size(u.net_rx)} / {human_size(u.net_tx)}",
        "BlockIO": f"{human_size(u.block_read)} / {human_size(u.block_write)}",
        "PIDs": str(u.pids),
    }


def _containers(engine: Engine, names: tuple[str, ...], all_: bool) -> list[Container]:
    service = engine.containers
    if names:
        return [service.store.get(service.get(n).id) for n in names]  # fresh state each round
    return [c for c in service.list() if all_ or c.running]


@click.command("stats", short_help="Display a live stream of container(s) resource usage"
               " statistics")
@click.argument("names", nargs=-1, metavar="[CONTAINER...]")
@click.option("-a", "--all", "all_", is_flag=True,
              help="Show all containers (default shows just running).")
@click.option("--format", "fmt", default="", help="Format output using a Go template.")
@click.option("--no-stream", is_flag=True, help="Disable streaming stats and only pull the"
              " first result.")
@click.option("--no-trunc", is_flag=True, help="Do not truncate output.")
@click.pass_context
def stats(ctx: click.Context, names: tuple[str, ...], all_: bool, fmt: str, no_stream: bool,
          no_trunc: bool) -> None:
    """Display a live stream of container(s) resource usage statistics."""
    from hull.cli.formatting import render_list
    from hull.engine.container_stats import measure

    engine = engine_of(ctx)
    for name in names:  # an unknown name fails at once, as Docker
        engine.containers.get(name)
    while True:
        containers = _containers(engine, names, all_)
        shown = list(names) if names else [c.id[:12] for c in containers]
        usages = measure(engine, containers, 0.5 if no_stream else 1.0)
        text = render_list(fmt, [row(u, s, no_trunc) for u, s in zip(usages, shown,
                                                                       strict=True)],
                           HEADERS, DEFAULT_TABLE)
        if no_stream:
            sys.stdout.write(text)
            return
        sys.stdout.write(CLEAR_SCREEN + text)
        sys.stdout.flush()
        if not containers:
            import time

            time.sleep(1.0)
