"""Image commands: images, history, tag, rmi, import, save, load, image prune/inspect."""

from __future__ import annotations

import sys

import click

from hull.cli.context import engine_of
from hull.cli.options import GO_BOOL, parse_filters

IMAGE_HEADERS = {
    "ID": "IMAGE ID", "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST",
    "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
    "Containers": "CONTAINERS", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
    "VirtualSize": "VIRTUAL SIZE",
}
HISTORY_HEADERS = {
    "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
    "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT",
}


def _short(image_id: str, no_trunc: bool) -> str:
    return image_id if no_trunc else image_id.split(":", 1)[-1][:12]


def _go_time(iso: str) -> str:
    """An RFC 3339 time the way Go prints a time.Time: 2024-01-02 15:04:05 +0000 UTC."""
    import time

    from hull.cli.humanize import parse_timestamp

    try:
        ts = parse_timestamp(iso, 0.0)
    except Exception:
        return iso
    return time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(ts))


@click.command("images", short_help="List images")
@click.argument("repository", required=False)
@click.option("-a", "--all", "show_all", is_flag=True, help="Show all images.")
@click.option("--digests", is_flag=True, help="Show digests.")
@click.option("-f", "--filter", "filters", multiple=True, help="Filter output (key=value).")
@click.option("--format", "fmt", default="", help="Format output using a Go template.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@click.pass_context
def images(ctx: click.Context, repository: str | None, show_all: bool, digests: bool,
           filters: tuple[str, ...], fmt: str, no_trunc: bool, quiet: bool) -> None:
    """List images."""
    from hull import reference as refs
    from hull.cli.humanize import human_size, since

    engine = engine_of(ctx)
    parsed = parse_filters(filters)
    if repository:
        parsed.setdefault("reference", []).append(repository)
    rows = []
    for image, repo, tag in engine.images.rows(parsed, show_all):
        digest = "<none>"
        for d in image.digests:
            r = refs.parse(d, default_tag=False)
            if r.familiar_name == repo or repo == "<none>":
                digest = r.digest
                break
        rows.append({
            "ID": _short(image.id, no_trunc), "Repository": repo, "Tag": tag, "Digest": digest,
            "CreatedSince": since(image.created) if image.created else "N/A",
            "CreatedAt": _go_time(image.created), "Size": human_size(image.size),
            "VirtualSize": human_size(image.size), "SharedSize": "N/A", "UniqueSize": "N/A",
            "Containers": "N/A",
        })
    default = ("table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
               if digests else
               "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}")
    _print_rows(rows, quiet, fmt, IMAGE_HEADERS, default)


@click.command("history", short_help="Show the history of an image")
@click.argument("image")
@click.option("--format", "fmt", default="", help="Format output using a Go template.")
@click.option("-H", "--human", type=GO_BOOL, default=True, show_default=True,
              help="Print sizes and dates in human readable format.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@click.pass_context
def history(ctx: click.Context, image: str, fmt: str, human: bool, no_trunc: bool,
            quiet: bool) -> None:
    """Show the history of an image."""
    from hull.cli.humanize import human_size, since

    engine = engine_of(ctx)
    rows = []
    for entry in engine.images.history(image):
        created_by = entry["CreatedBy"]
        if not no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        ident = entry["Id"]
        rows.append({
            "ID": ident if ident == "<missing>" else _short(ident, no_trunc),
            "CreatedSince": since(entry["Created"]) if human and entry["Created"] else
            entry["Created"] or "N/A",
            "CreatedAt": entry["Created"] if not human else _go_time(entry["Created"]),
            "CreatedBy": created_by,
            "Size": human_size(entry["Size"]) if human else str(entry["Size"]),
            "Comment": entry["Comment"],
        })
    default = ("table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
               if human else
               "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}")
    _print_rows(rows, quiet, fmt, HISTORY_HEADERS, default)


def _print_rows(rows: list[dict[str, str]], quiet: bool, fmt: str, headers: dict[str, str],
                default: str) -> None:
    """IDs only with ``-q``, else the ``--format`` rendering (the default table without one)."""
    if quiet:
        for row in rows:
            click.echo(row["ID"])
        return
    from hull.cli.formatting import render_list

    click.echo(render_list(fmt, rows, headers, default), nl=False)


@click.command("tag", short_help="Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE")
@click.argument("source")
@click.argument("target")
@click.pass_context
def tag(ctx: click.Context, source: str, target: str) -> None:
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
    engine_of(ctx).images.tag(source, target)


@click.command("rmi", short_help="Remove one or more images")
@click.argument("names", nargs=-1, required=True, metavar="IMAGE [IMAGE...]")
@click.option("-f", "--force", is_flag=True, help="Force removal of the image.")
@click.option("--no-prune", is_flag=True, help="Do not delete untagged parents.")
@click.pass_context
def rmi(ctx: click.Context, names: tuple[str, ...], force: bool, no_prune: bool) -> None:
    """Remove one or more images."""
    from hull.errors import HullError

    engine = engine_of(ctx)
    failed = 0
    for name in names:
        try:
            result = engine.images.remove(name, force=force, prune=not no_prune)
        except HullError as e:
            click.echo(f"Error: {e}", err=True)
            failed = e.exit_code or 1
            continue
        for kind, value in result.actions:
            click.echo(f"{kind}: {value}")
    if failed:
        ctx.exit(failed)


@click.command("import", short_help="Import the contents from a tarball to create a filesystem image")
@click.argument("source", metavar="file|-")
@click.argument("reference", required=False, metavar="[REPOSITORY[:TAG]]")
@click.option("-c", "--change", "changes", multiple=True,
              help="Apply Dockerfile instruction to the created image.")
@click.option("-m", "--message", default="", help="Set commit message for imported image.")
@click.option("--platform", default=None, help="Set platform if server is multi-platform capable.")
@click.pass_context
def import_(ctx: click.Context, source: str, reference: str | None, changes: tuple[str, ...],
            message: str, platform: str | None) -> None:
    """Import the contents from a tarball to create a filesystem image."""
    if source.startswith(("http://", "https://")):
        from hull.errors import InvalidArgument

        raise InvalidArgument("importing from a URL is not supported: download the file first")
    src = sys.stdin.buffer if source == "-" else source
    image = engine_of(ctx).images.import_tarball(src, reference, list(changes), message, platform)
    click.echo(image.id)


@click.command("save", short_help="Save one or more images to a tar archive")
@click.argument("names", nargs=-1, required=True, metavar="IMAGE [IMAGE...]")
@click.option("-o", "--output", default=None, help="Write to a file, instead of STDOUT.")
@click.pass_context
def save(ctx: click.Context, names: tuple[str, ...], output: str | None) -> None:
    """Save one or more images to a tar archive (streamed to STDOUT by default)."""
    import os

    from hull.errors import InvalidArgument

    engine = engine_of(ctx)
    for name in names:  # fail before creating the output file
        engine.images.get(name)
    if output is None or output == "-":
        if sys.stdout.isatty():
            raise InvalidArgument("cowardly refusing to save to a terminal. Use the -o flag or"
                                  " redirect")
        engine.images.save(list(names), sys.stdout.buffer)
        sys.stdout.flush()
        return
    tmp = f"{output}.hull-save-{os.getpid()}"
    try:
        with open(tmp, "wb") as out:
            engine.images.save(list(names), out)
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@click.command("load", short_help="Load an image from a tar archive or STDIN")
@click.option("-i", "--input", "input_", default=None,
              help="Read from tar archive file, instead of STDIN.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the load output.")
@click.pass_context
def load(ctx: click.Context, input_: str | None, quiet: bool) -> None:
    """Load an image from a tar archive or STDIN."""
    from hull.errors import InvalidArgument

    if input_ is None and sys.stdin.isatty():
        raise InvalidArgument("requested load from stdin, but stdin is empty")
    source = input_ if input_ else sys.stdin.buffer
    for kind, value in engine_of(ctx).images.load(source):
        if not quiet:
            click.echo(f"Loaded image: {value}" if kind == "name" else f"Loaded image ID: {value}")


@click.command("prune", short_help="Remove unused images")
@click.option("-a", "--all", "all_images", is_flag=True,
              help="Remove all unused images, not just dangling ones.")
@click.option("--filter", "filters", multiple=True, help="Provide filter values (e.g. 'until=24h').")
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.pass_context
def prune(ctx: click.Context, all_images: bool, filters: tuple[str, ...], force: bool) -> None:
    """Remove unused images."""
    from hull.cli.humanize import human_size

    if not force:
        what = ("all images without at least one container associated to them" if all_images
                else "all dangling images")
        click.echo(f"WARNING! This will remove {what}.")
        if not click.confirm("Are you sure you want to continue?", default=False,
                             show_default=True, prompt_suffix=" "):
            return
    result = engine_of(ctx).images.prune(all_images, parse_filters(filters))
    if result.actions:
        click.echo("Deleted Images:")
        for kind, value in result.actions:
            click.echo(f"{kind}: {value}")
        click.echo("")
    click.echo(f"Total reclaimed space: {human_size(result.reclaimed)}")


@click.command("inspect", short_help="Display detailed information on one or more images")
@click.argument("names", nargs=-1, required=True, metavar="IMAGE [IMAGE...]")
@click.option("-f", "--format", "fmt", default="", help="Format output using a Go template.")
@click.pass_context
def image_inspect(ctx: click.Context, names: tuple[str, ...], fmt: str) -> None:
    """Display detailed information on one or more images."""
    from hull.cli.commands.inspect import print_inspect

    engine = engine_of(ctx)
    print_inspect(ctx, names, fmt, lambda n: engine.images.inspect(n), "image")


@click.group("image", short_help="Manage images")
def image_group() -> None:
    """Manage images."""


image_group.add_command(images, "ls")
image_group.add_command(images, "list")
image_group.add_command(history, "history")
image_group.add_command(tag, "tag")
image_group.add_command(rmi, "rm")
image_group.add_command(rmi, "remove")
image_group.add_command(import_, "import")
image_group.add_command(save, "save")
image_group.add_command(load, "load")
image_group.add_command(prune, "prune")
image_group.add_command(image_inspect, "inspect")

# `image pull` / `image push` (the module imports only click at its top: cheap).
from hull.cli.commands.distribution import pull as _pull  # noqa: E402
from hull.cli.commands.distribution import push as _push  # noqa: E402

image_group.add_command(_pull, "pull")
image_group.add_command(_push, "push")

