"""Starting a shim: fork from the CLI process (no new interpreter), detach, report back.

The CLI has already imported and prepared everything the container needs, so forking is the
cheapest way to get a monitor.  The double fork plus ``setsid`` makes the shim an orphan in
its own session: killing the CLI, its terminal or its process group leaves it alone.  The
CLI keeps one end of a socket pair; the shim reports "started" or the start error on it and,
for an attached run, streams the container's output over it.

After the container started, :func:`trim_memory` drops what the shim no longer needs (the
CLI's modules, caches, freed heap) so each running container costs little memory.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hull.shim.plan import ShimPlan

#: Objects inherited from the CLI that must never be finalised in the shim (an SQLite
#: connection closed in a forked child can disturb the parent's locks).
_KEEP: list[object] = []

#: Module prefixes the shim still uses after start (teardown, database, removal).
_SHIM_MODULES = (
    "hull.shim", "hull.runtime", "hull.errors", "hull.state", "hull.snapshot",
    "hull.engine.container_", "hull.oci.runtime_spec", "hull.digest",
)
#: Packages of the CLI that the shim never needs again.
_DROP_PREFIXES = (
    "click", "hull.cli", "hull.image", "hull.transports", "hull.archive", "hull.build",
    "hull.content", "hull.template", "hull.registry", "hull.oci.seccomp_profile",
    "hull.engine.images", "hull.engine.containers", "hull.reference", "pyseccomp", "isal",
    "zstandard", "rich", "aiohttp", "tarfile", "zipfile", "email", "http", "argparse",
    "inspect", "pydoc", "textwrap", "gettext", "shutil_",
)


def launch(plan: ShimPlan, attached: bool, keep: object = None,
           close: tuple[int, ...] = ()) -> socket.socket:
    """Fork a detached shim for ``plan``; return the CLI's end of the control socket.

    ``keep`` is an object of the CLI (its engine) that the shim must never finalise;
    ``close`` are descriptors of the CLI (locks) that the shim must not hold.  Other
    inherited descriptors stay open but unused: closing them under their Python owners
    could later close a reused descriptor number.
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the intermediate child: only forks again and leaves
        code = 0
        try:
            os.setsid()
            if os.fork() == 0:
                _become_shim(plan, theirs, ours, attached, keep, close)
        except BaseException:
            code = 1
        os._exit(code)
    theirs.close()
    os.waitpid(pid, 0)
    return ours


def _become_shim(plan: ShimPlan, ctl: socket.socket, other: socket.socket, attached: bool,
                 keep: object, close: tuple[int, ...]) -> None:
    code = 0
    try:
        _KEEP.append(keep)
        other.close()
        _detach_stdio()
        for fd in close:
            with contextlib.suppress(OSError):
                os.close(fd)
        import signal

        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGTSTP):
            signal.signal(sig, signal.SIG_IGN)
        from hull.shim.monitor import Monitor

        Monitor(plan, ctl, attached).run()
    except BaseException as e:  # last resort: tell the CLI and leave a trace
        code = 1
        with contextlib.suppress(Exception):
            import traceback

            with open(os.path.join(plan.paths.dir, "shim-error.log"), "a") as f:
                traceback.print_exc(file=f)
        with contextlib.suppress(Exception):
            from hull.shim import protocol as proto

            ctl.sendall(proto.json_frame(proto.ERROR, {
                "message": f"shim: {type(e).__name__}: {e}", "exit_code": 125}))
    finally:
        os._exit(code)


def _detach_stdio() -> None:
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    if null > 2:
        os.close(null)


def trim_memory() -> None:
    """Give back the memory of everything the shim no longer needs."""
    import gc

    for name in list(sys.modules):
        if name.startswith(_DROP_PREFIXES) and not name.startswith(_SHIM_MODULES):
            del sys.modules[name]
    for name, module in list(sys.modules.items()):
        if name.startswith("hull.") and not name.startswith(_SHIM_MODULES) and \
                module is not None and name not in ("hull.config", "hull.engine"):
            with contextlib.suppress(Exception):
                del sys.modules[name]
    import linecache

    linecache.clearcache()
    sys.modules.pop("__main__", None)
    gc.collect()
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
