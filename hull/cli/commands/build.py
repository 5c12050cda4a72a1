"""``hull build`` and ``hull builder prune``."""

from __future__ import annotations

import os
import sys

import click

from hull.cli.context import engine_of
from hull.errors import InvalidArgument


def _key_values(values: tuple[str, ...], flag: str, from_env: bool) -> dict[str, str]:
    """``K=V`` flags; a bare ``K`` takes the environment's value (Docker), if any."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key:
            raise InvalidArgument(f"invalid {flag} {item!r}: expected KEY=VALUE")
        if sep:
            out[key] = value
        elif from_env:
            if key in os.environ:
                out[key] = os.environ[key]
        else:
            out[key] = ""
    return out


@click.command("build", short_help="Build an image from a Dockerfile")
@click.argument("context", required=False)
@click.option("-t", "--tag", "tags", multiple=True, help="Name and optionally a tag (name:tag).")
@click.option("-f", "--file", "dockerfile", default=None, metavar="FILE",
              help="Name of the Dockerfile (default: CONTEXT/Dockerfile; - reads stdin).")
@click.option("--build-arg", "build_args", multiple=True, help="Set build-time variables.")
@click.option("--target", default=None, help="Set the target build stage to build.")
@click.option("--label", "labels", multiple=True, help="Set metadata for an image.")
@click.option("--no-cache", is_flag=True, help="Do not use cache when building the image.")
@click.option("--network", default="default",
              help="Networking mode for RUN instructions (default, host, none).")
@click.option("--iidfile", default=None, metavar="FILE", help="Write the image ID to the file.")
@click.option("--secret", "secrets", multiple=True,
              help="Secret to expose to the build: id=mysecret[,src=/local/secret].")
@click.option("--platform", default=None, help="Target platform (os/arch[/variant]).")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the build output and print the "
              "image ID on success.")
@click.option("--progress", type=click.Choice(["auto", "plain", "tty"]), default="auto",
              help="Type of progress output.")
@click.option("--rm", "_rm", is_flag=True, default=True, hidden=True)
@click.option("--force-rm", "_force_rm", is_flag=True, hidden=True)
@click.pass_context
def build(ctx: click.Context, context: str | None, tags: tuple[str, ...], dockerfile: str | None,
          build_args: tuple[str, ...], target: str | None, labels: tuple[str, ...],
          no_cache: bool, network: str, iidfile: str | None, secrets: tuple[str, ...],
          platform: str | None, quiet: bool, progress: str, _rm: bool, _force_rm: bool) -> None:
    """Build an image from a Dockerfile and a context (a directory, a tar, or -)."""
    from hull.build.progress import make_progress
    from hull.engine.builds import BuildRequest

    engine = engine_of(ctx)
    request = BuildRequest(
        context=context, dockerfile=dockerfile, stdin=sys.stdin.buffer, tags=list(tags),
        build_args=_key_values(build_args, "--build-arg", from_env=True), target=target,
        labels=_key_values(labels, "--label", from_env=False), no_cache=no_cache,
        network=network, secrets=list(secrets), platform=platform, isolate_mounts=True)
    _exit_on_sigterm()
    reporter = make_progress(progress, quiet, sys.stdout.isatty())
    result = engine.builds.build(request, reporter)
    if iidfile:
        with open(iidfile, "w") as f:
            f.write(result.image_id)
    if quiet:
        click.echo(result.image_id)


def _exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the running step's container and snapshot go."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


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
