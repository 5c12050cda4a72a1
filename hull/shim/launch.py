"""Starting a shim: fork from the CLI process (no new interpreter), detach, report back.

The CLI has already imported and prepared everything the container needs, so forking is the
cheapest way to get a monitor.  The double fork plus ``setsid`` makes the shim an orphan in
its own session: killing the CLI, its terminal or its process group leaves it alone.  The
CLI keeps one end of a socket pair; the shim reports "started" or the start error on it and,
for an attached run, streams the container's output over it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from hull.shim.plan import ShimPlan

#: Objects inherited from the CLI that must never be finalised in the shim (an SQLite
#: connection closed in a forked child can disturb the parent's locks).
_KEEP: list[object] = []


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


class PendingShim:
    """A shim forked before the container exists, warming up while the CLI prepares it.

    ``run`` forks it first thing, before the CLI opens the database, so the shim inherits
    no SQLite state and imports the runtime on the other CPU while the CLI creates the
    container and its bundle; :meth:`go` then hands it the plan.  Closing it unused makes
    the shim exit.
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def go(self, plan: ShimPlan, attached: bool) -> socket.socket:
        from hull.shim import protocol as proto

        self.sock.sendall(proto.json_frame(proto.PLAN, {"plan": plan.spec(),
                                                        "attached": attached}))
        sock, self.sock = self.sock, None  # type: ignore[assignment]
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None  # type: ignore[assignment]


def prefork(runtime: str) -> PendingShim:
    """Fork a detached shim now; it waits for :meth:`PendingShim.go`."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.setsid()
            if os.fork() == 0:
                _become_pending_shim(theirs, ours, runtime)
        except BaseException:
            code = 1
        os._exit(code)
    theirs.close()
    os.waitpid(pid, 0)
    return PendingShim(ours)


def _become_pending_shim(ctl: socket.socket, other: socket.socket, runtime: str) -> None:
    code = 0
    directory = ""
    try:
        other.close()
        _detach_stdio()
        _ignore_terminal_signals()
        from hull.shim.starter import serve_pending

        directory = serve_pending(ctl, runtime)
    except BaseException:
        code = 1
        from hull.shim.monitor import log_crash

        log_crash(directory)
    finally:
        os._exit(code)


def _ignore_terminal_signals() -> None:
    import signal

    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGTSTP):
        signal.signal(sig, signal.SIG_IGN)


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
        _ignore_terminal_signals()
        from hull.shim.starter import run_shim

        run_shim(plan, ctl, attached)
    except BaseException as e:  # last resort: tell the CLI and leave a trace
        code = 1
        from hull.shim.monitor import log_crash

        log_crash(plan.paths.dir)
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
