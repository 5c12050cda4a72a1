"""``hull version`` and ``hull info``."""

from __future__ import annotations

import click

from hull.cli.context import engine_of


@click.command(short_help="Show the hull version information")
@click.option("-f", "--format", "fmt", default="", help="Format output using a Go template.")
@click.pass_context
def version(ctx: click.Context, fmt: str) -> None:
    """Show the hull version information."""
    import platform
    import sys

    from hull import __version__

    info = {
        "Client": {"Version": __version__, "Os": "linux", "Arch": _go_arch(platform.machine())},
        "Server": {"Version": __version__, "ApiVersion": "1.43", "MinAPIVersion": "1.24",
                   "Os": "linux", "Arch": _go_arch(platform.machine()),
                   "KernelVersion": platform.release()},
    }
    if fmt:
        from hull.cli.formatting import render_one

        click.echo(render_one(fmt, info))
        return
    py = sys.version.split()[0]
    click.echo(f"Client:\n Version:           {__version__}\n Python version:    {py}\n"
               f" OS/Arch:           linux/{info['Client']['Arch']}\n")
    click.echo(f"Server:\n Engine:\n  Version:          {__version__}\n"
               f"  API version:      1.43 (minimum version 1.24)\n"
               f"  OS/Arch:          linux/{info['Server']['Arch']}\n"
               f"  Kernel Version:   {platform.release()}")


def _go_arch(machine: str) -> str:
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(
        machine, machine)


@click.command(short_help="Display system-wide information")
@click.option("-f", "--format", "fmt", default="", help="Format output using a Go template.")
@click.pass_context
def info(ctx: click.Context, fmt: str) -> None:
    """Display system-wide information."""
    engine = engine_of(ctx)
    data = engine.system_info()
    if fmt:
        from hull.cli.formatting import render_one

        click.echo(render_one(fmt, data))
        return
    lines = [
        "Server:",
        f" Containers: {data['Containers']}",
        f"  Running: {data['ContainersRunning']}",
        f"  Paused: {data['ContainersPaused']}",
        f"  Stopped: {data['ContainersStopped']}",
        f" Images: {data['Images']}",
        f" Layers: {data['Layers']}",
        f" Server Version: {data['ServerVersion']}",
        f" Storage Driver: {data['Driver']}",
        f" Cgroup Version: {data['CgroupVersion']}",
        f" Kernel Version: {data['KernelVersion']}",
        f" Operating System: {data['OperatingSystem']}",
        f" Architecture: {data['Architecture']}",
        f" CPUs: {data['NCPU']}",
        f" Total Memory: {data['MemTotalHuman']}",
        f" Hull Root Dir: {data['DockerRootDir']}",
        f" Hull Run Root Dir: {data['RunRoot']}",
        f" Disk Used: {data['DiskUsedHuman']}",
    ]
    click.echo("\n".join(lines))
