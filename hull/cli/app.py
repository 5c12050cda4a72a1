"""The click application behind ``hull``: global options and lazily loaded subcommands.

Kept apart from :mod:`hull.cli.main` so that ``hull --version`` answers without importing
click (about 30 ms, most of that command's time).
"""

from __future__ import annotations

import click

from hull import __version__
from hull.cli.main import COMMANDS, CONTEXT_SETTINGS


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on demand from COMMANDS-like maps."""

    def __init__(self, *args: object, lazy: dict[str, str] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module_name, attr = self.lazy[name].split(":")
            import importlib

            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, name)

    def resolve_command(self, ctx, args):  # type: ignore[no-untyped-def]
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            path = ctx.command_path
            raise UnknownCommand(f"{path}: '{name}' is not a {path} command.\nSee '{path} --help'")
        return super().resolve_command(ctx, args)


class UnknownCommand(click.UsageError):
    """Docker's wording for an unknown subcommand."""


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings=CONTEXT_SETTINGS)
@click.option("--root", envvar="HULL_ROOT", default=None, metavar="DIR",
              help="Root of persistent state (default /var/lib/hull).")
@click.option("--run-root", envvar="HULL_RUN_ROOT", default=None, metavar="DIR",
              help="Root of runtime state (default /run/hull).")
@click.option("--snapshotter", envvar="HULL_SNAPSHOTTER", default=None,
              type=click.Choice(["overlay", "native"]), help="Storage backend for layers.")
@click.option("-D", "--debug", is_flag=True, help="Show tracebacks and debug output.")
@click.version_option(__version__, "-v", "--version", message="hull version %(version)s")
@click.pass_context
def cli(ctx: click.Context, root: str | None, run_root: str | None, snapshotter: str | None,
        debug: bool) -> None:
    """A container engine: build, ship and run images and containers like Docker."""
    from hull.config import Settings

    ctx.obj = Settings.from_env(root=root, run_root=run_root, snapshotter=snapshotter, debug=debug)
