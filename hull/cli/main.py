"""The ``hull`` command: global options, lazily loaded subcommands, error reporting.

Subcommands live in their own modules and are imported only when invoked, so
``hull --version`` or ``hull ps`` pay only for what they use.
"""

from __future__ import annotations

import os
import sys

from hull import __version__

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    import click

# Commands that are both ``hull X`` and ``hull container X`` (Docker's aliases).
CONTAINER_COMMANDS: dict[str, str] = {
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
    "attach": "hull.cli.commands.container_attach:attach",
    "update": "hull.cli.commands.container_update:update",
    "ps": "hull.cli.commands.container_ps:ps",
    "commit": "hull.cli.commands.container_files:commit",
    "diff": "hull.cli.commands.container_files:diff",
    "cp": "hull.cli.commands.container_files:cp",
    "export": "hull.cli.commands.container_files:export",
    "stats": "hull.cli.commands.container_stats:stats",
}

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
    "system": "hull.cli.commands.container_system:system_group",
    **CONTAINER_COMMANDS,
    "container": "hull.cli.commands.container:container_group",
    "volume": "hull.cli.commands.volume:volume_group",
    "network": "hull.cli.commands.network:network_group",
    "port": "hull.cli.commands.network:port",
    "build": "hull.cli.commands.build:build",
    "builder": "hull.cli.commands.build:builder_group",
}

# Commands answered without click for ordinary command lines (see hull.cli.fastparse).
FAST_PATHS: dict[str, str] = {
    "exec": "hull.cli.commands.exec_core:fast_exec",
    "run": "hull.cli.commands.run_core:fast_run",
    "create": "hull.cli.commands.run_core:fast_create",
    "build": "hull.cli.commands.build_core:fast_build",
    "pull": "hull.cli.commands.distribution:fast_pull",
    "push": "hull.cli.commands.distribution:fast_push",
}

CONTEXT_SETTINGS = {"help_option_names": ["--help"], "max_content_width": 100}


def __getattr__(name: str) -> object:
    """``cli``, ``LazyGroup`` and ``UnknownCommand`` live in :mod:`hull.cli.app` (click)."""
    if name in ("cli", "LazyGroup", "UnknownCommand"):
        from hull.cli import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn errors into one line and Docker's exit codes."""
    from hull.errors import HullError

    args = sys.argv[1:] if argv is None else argv
    _fewer_collections()
    if args in (["--version"], ["-v"]):
        print(f"hull version {__version__}")
        if argv is None:
            _leave(0)
        sys.exit(0)
    debug = "--debug" in args or "-D" in args or bool(os.environ.get("HULL_DEBUG"))
    try:
        rc = _run_fast(args)
        if rc is None:
            rc = _run_click(args)
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


def _run_fast(args: list[str]) -> int | None:
    """The hot commands (``exec``, ``run``, ``create``) parsed without click, when they can be:
    the exit code, or None for the click application."""
    target = FAST_PATHS.get(args[0]) if args else None
    if target is None:
        return None
    module_name, attr = target.split(":")
    __import__(module_name)  # the importlib package would cost a millisecond more
    return getattr(sys.modules[module_name], attr)(args[1:])


def _run_click(args: list[str]) -> int:
    """The click application; click's own errors become Docker's messages and codes."""
    import click

    from hull.cli.app import cli

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
    return rc if isinstance(rc, int) else 0


def _fewer_collections() -> None:
    """Collect cyclic garbage after 50,000 new objects instead of 700.

    A command's imports create tens of thousands of long-lived objects, and with the default
    threshold the collector walks them again and again (3-10 ms of a short command).  A
    long-running command still collects, only less often.
    """
    import gc

    gc.set_threshold(50_000, 20, 100)


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
    from hull.cli.app import UnknownCommand

    if isinstance(e, UnknownCommand):
        print(f"hull: {e.message}", file=sys.stderr)
        return
    path = e.ctx.command_path if e.ctx else "hull"
    message = e.format_message()
    if message.startswith("No such option: "):
        message = "unknown flag: " + message[len("No such option: "):].split()[0]
    print(f"{path}: {message}\nSee '{path} --help'.", file=sys.stderr)
