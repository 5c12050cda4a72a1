"""The ``hull`` command: global options, lazily loaded subcommands, error reporting.

Subcommands live in their own modules and are imported only when invoked, so
``hull --version`` or ``hull ps`` pay only for what they use.
"""

from __future__ import annotations

import os
import sys

import click

from hull import __version__

# name -> "module:attribute"; modules are imported on first use.
COMMANDS: dict[str, str] = {
    "version": "hull.cli.commands.system:version",
    "info": "hull.cli.commands.system:info",
    "image": "hull.cli.commands.image:image_group",
    "images": "hull.cli.commands.image:images",
    "history": "hull.cli.commands.image:history",
    "tag": "hull.cli.commands.image:tag",
    "rmi": "hull.cli.commands.image:rmi",
    "import": "hull.cli.commands.image:import_",
    "save": "hull.cli.commands.image:save",
    "load": "hull.cli.commands.image:load",
    "inspect": "hull.cli.commands.inspect:inspect",
    "registry": "hull.cli.commands.registry:registry_group",
    "pull": "hull.cli.commands.distribution:pull",
    "push": "hull.cli.commands.distribution:push",
    "login": "hull.cli.commands.distribution:login",
    "logout": "hull.cli.commands.distribution:logout",
    "run": "hull.cli.commands.container_run:run",
    "create": "hull.cli.commands.container_run:create",
    "start": "hull.cli.commands.container:start",
    "stop": "hull.cli.commands.container:stop",
    "restart": "hull.cli.commands.container:restart",
    "kill": "hull.cli.commands.container:kill",
    "pause": "hull.cli.commands.container:pause",
    "unpause": "hull.cli.commands.container:unpause",
    "wait": "hull.cli.commands.container:wait",
    "rm": "hull.cli.commands.container:rm",
    "rename": "hull.cli.commands.container:rename",
    "top": "hull.cli.commands.container:top",
    "logs": "hull.cli.commands.container_logs:logs",
    "exec": "hull.cli.commands.container_exec:exec_",
    "ps": "hull.cli.commands.container_ps:ps",
    "commit": "hull.cli.commands.container_files:commit",
    "diff": "hull.cli.commands.container_files:diff",
    "cp": "hull.cli.commands.container_files:cp",
    "export": "hull.cli.commands.container_files:export",
    "stats": "hull.cli.commands.container_stats:stats",
    "container": "hull.cli.commands.container:container_group",
    "volume": "hull.cli.commands.volume:volume_group",
    "network": "hull.cli.commands.network:network_group",
    "port": "hull.cli.commands.network:port",
    "build": "hull.cli.commands.build:build",
    "builder": "hull.cli.commands.build:builder_group",
}

CONTEXT_SETTINGS = {"help_option_names": ["--help"], "max_content_width": 100}


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


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn errors into one line and Docker's exit codes."""
    from hull.errors import HullError

    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or "-D" in args or bool(os.environ.get("HULL_DEBUG"))
    try:
        rc = cli.main(args=args, prog_name="hull", standalone_mode=False)
    except click.exceptions.Exit as e:
        rc = e.exit_code
    except click.exceptions.Abort:
        rc = 130
    except click.UsageError as e:
        _usage_error(e)
        rc = 125
    except click.ClickException as e:
        print(f"Error: {e.format_message()}", file=sys.stderr)
        rc = 125
    except HullError as e:
        if debug:
            import traceback

            traceback.print_exc()
        print(f"Error: {e}", file=sys.stderr)
        rc = e.exit_code
    except KeyboardInterrupt:
        rc = 130
    except BrokenPipeError:
        sys.stderr.close()
        rc = 0
    except Exception as e:  # a bug: say so in one line unless debugging
        if debug:
            raise
        print(f"Error: internal error: {type(e).__name__}: {e} (run with --debug for details)",
              file=sys.stderr)
        rc = 125
    code = rc if isinstance(rc, int) else 0
    if argv is None:
        _leave(code)
    sys.exit(code)


def _leave(code: int) -> None:
    """End the process without the interpreter's teardown.

    Freeing every module and object of a command that imported the engine takes 10-20 ms,
    more than some commands' work; the kernel reclaims it all at once.  Output is flushed
    and exit handlers run first; if a thread that is not a daemon still runs, the normal
    exit waits for it instead.
    """
    threading = sys.modules.get("threading")
    if threading is not None and any(
            t.is_alive() and not t.daemon for t in threading.enumerate()
            if t is not threading.main_thread()):
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    import atexit

    atexit._run_exitfuncs()
    os._exit(code)


def _usage_error(e: click.UsageError) -> None:
    """Print a flag or argument error the way Docker's CLI does."""
    if isinstance(e, UnknownCommand):
        print(f"hull: {e.message}", file=sys.stderr)
        return
    path = e.ctx.command_path if e.ctx else "hull"
    message = e.format_message()
    if message.startswith("No such option: "):
        message = "unknown flag: " + message[len("No such option: "):].split()[0]
    print(f"{path}: {message}\nSee '{path} --help'.", file=sys.stderr)
