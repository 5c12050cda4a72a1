"""``hull inspect``: low-level information on containers and images."""

from __future__ import annotations

from collections.abc import Callable

import click

from hull.cli.context import engine_of
from hull.cli.options import json_dump


def print_inspect(ctx: click.Context, names: tuple[str, ...], fmt: str,
                  lookup: Callable[[str], dict], kind: str) -> None:
    """Docker's inspect output: a JSON array, or the template per object; errors after."""
    from hull.errors import NotFound

    found: list[dict] = []
    errors: list[str] = []
    for name in names:
        try:
            found.append(lookup(name))
        except NotFound:
            errors.append(f"Error: No such {kind}: {name}")
    if fmt:
        from hull.cli.formatting import render_one

        for doc in found:
            click.echo(render_one(fmt, doc))
    else:
        click.echo(json_dump(found))
    for e in errors:
        click.echo(e, err=True)
    if errors:
        ctx.exit(1)


@click.command("inspect", short_help="Return low-level information on hull objects")
@click.argument("names", nargs=-1, required=True, metavar="NAME|ID [NAME|ID...]")
@click.option("-f", "--format", "fmt", default="", help="Format output using a Go template.")
@click.option("-s", "--size", is_flag=True, help="Display total file sizes if the type is container.")
@click.option("--type", "type_", default="", type=click.Choice(["", "image", "container"]),
              help="Return JSON for specified type.")
@click.pass_context
def inspect(ctx: click.Context, names: tuple[str, ...], fmt: str, size: bool, type_: str) -> None:
    """Return low-level information on hull objects."""
    from hull.errors import NotFound

    engine = engine_of(ctx)

    def lookup(name: str) -> dict:
        # Docker's order: a container of that name or id first, then an image.
        if type_ in ("", "container"):
            try:
                return engine.containers.inspect(name, size=size)
            except NotFound:
                if type_ == "container":
                    raise
        return engine.images.inspect(name)

    kind = {"": "object", "image": "image", "container": "container"}[type_]
    print_inspect(ctx, names, fmt, lookup, kind)
