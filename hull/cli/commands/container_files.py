"""Commands about a container's files: commit, diff, cp, export."""

from __future__ import annotations

import os
import sys

import click

from hull.cli.context import engine_of
from hull.cli.options import GO_BOOL
from hull.errors import InvalidArgument


class GoBoolFlags(click.Command):
    """A command whose on/off flags also take Go's ``--flag=false`` spelling, as Docker's do
    (``--pause=false``), while a bare ``--pause`` still takes no value."""

    go_flags = {"-p": "pause", "--pause": "pause"}

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten = []
        for index, arg in enumerate(args):
            if arg == "--":
                rewritten.extend(args[index:])
                break
            name, sep, value = arg.partition("=")
            if sep and name in self.go_flags:
                on = GO_BOOL.convert(value, None, ctx)
                arg = f"--{'' if on else 'no-'}{self.go_flags[name]}"
            rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


@click.command("commit", cls=GoBoolFlags, short_help="Create a new image from a container's changes")
@click.argument("container")
@click.argument("reference", required=False, metavar="[REPOSITORY[:TAG]]")
@click.option("-a", "--author", default="",
              help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>").')
@click.option("-c", "--change", "changes", multiple=True,
              help="Apply Dockerfile instruction to the created image.")
@click.option("-m", "--message", default="", help="Commit message.")
@click.option("-p", "--pause/--no-pause", default=True, show_default=True,
              help="Pause container during commit (also --pause=false).")
@click.pass_context
def commit(ctx: click.Context, container: str, reference: str | None, author: str,
           changes: tuple[str, ...], message: str, pause: bool) -> None:
    """Create a new image from a container's changes."""
    from hull.engine.container_commit import commit_container

    image = commit_container(engine_of(ctx), container, reference, author=author,
                             message=message, changes=list(changes), pause=pause)
    click.echo(image.id)


@click.command("diff", short_help="Inspect changes to files or directories on a container's"
               " filesystem")
@click.argument("container")
@click.pass_context
def diff(ctx: click.Context, container: str) -> None:
    """Inspect changes to files or directories on a container's filesystem."""
    from hull.engine.container_diff import container_changes

    lines = [f"{kind} {name}" for kind, name in container_changes(engine_of(ctx), container)]
    if lines:
        click.echo("\n".join(lines))


@click.command("export", short_help="Export a container's filesystem as a tar archive")
@click.argument("container")
@click.option("-o", "--output", default=None, help="Write to a file, instead of STDOUT.")
@click.pass_context
def export(ctx: click.Context, container: str, output: str | None) -> None:
    """Export a container's filesystem as a tar archive (streamed to STDOUT by default)."""
    from hull.engine.container_export import export_container

    engine = engine_of(ctx)
    engine.containers.get(container)  # an unknown container fails before any file is made
    if output is None or output == "-":
        if sys.stdout.isatty():
            raise InvalidArgument("cowardly refusing to save to a terminal. Use the -o flag or"
                                  " redirect")
        export_container(engine, container, sys.stdout.buffer)
        sys.stdout.flush()
        return
    tmp = f"{output}.hull-export-{os.getpid()}"
    try:
        with open(tmp, "wb") as out:
            export_container(engine, container, out)
        os.replace(tmp, output)
    except FileNotFoundError as e:
        raise InvalidArgument(f"failed to export container: open {output}: "
                              f"{e.strerror.lower() if e.strerror else e}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def split_cp_arg(arg: str) -> tuple[str, str]:
    """``CTR:PATH`` -> (CTR, PATH); a local path -> ("", path).  As Docker: a path that
    starts with ``/`` or ``.`` is local even with a colon in it."""
    if arg.startswith(("/", ".")) or arg == "-":
        return "", arg
    container, sep, path = arg.partition(":")
    if not sep:
        return "", arg
    return container, path


@click.command("cp", short_help="Copy files/folders between a container and the local"
               " filesystem")
@click.argument("src", metavar="SRC_PATH|-")
@click.argument("dest", metavar="DEST_PATH|-")
@click.option("-a", "--archive", is_flag=True, help="Archive mode (copy all uid/gid information).")
@click.option("-L", "--follow-link", "follow", is_flag=True,
              help="Always follow symbol link in SRC_PATH.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress progress output (none is shown).")
@click.pass_context
def cp(ctx: click.Context, src: str, dest: str, archive: bool, follow: bool,
       quiet: bool) -> None:
    """Copy files/folders between a container and the local filesystem.

    \b
    hull cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-
    hull cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH
    """
    from hull.engine import container_copy

    src_ctr, src_path = split_cp_arg(src)
    dest_ctr, dest_path = split_cp_arg(dest)
    if src_ctr and dest_ctr:
        raise InvalidArgument("copying between containers is not supported")
    if not src_ctr and not dest_ctr:
        raise InvalidArgument("must specify at least one container source")
    engine = engine_of(ctx)
    if src_ctr:
        if dest_path == "-" and sys.stdout.isatty():
            raise InvalidArgument("cowardly refusing to write a tar to a terminal. Redirect"
                                  " the output")
        container_copy.copy_from_container(engine, src_ctr, src_path, dest_path,
                                           archive=archive, follow=follow,
                                           stdout=sys.stdout.buffer)
        sys.stdout.flush()
        return
    container_copy.copy_into_container(engine, dest_ctr, src_path, dest_path, archive=archive,
                                       follow=follow, stdin=sys.stdin.buffer)
