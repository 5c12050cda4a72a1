"""``hull exec``: run a command in a running container.

Without a terminal the new process gets this process's stdin (``-i``), stdout and stderr
directly, so no byte passes through Python.  With ``-t`` this process receives the pty
master from the runtime and relays it to the user's terminal in raw mode, keeping the
window size in sync.

`fast_exec` parses a plain ``hull exec [OPTIONS] CONTAINER COMMAND...`` with the flag table of
:mod:`hull.cli.run_options` so the entry point can answer it without importing click (a third
of the command's time); anything it does not know (``--help``, a mistyped flag) is left to
the click command.
"""

from __future__ import annotations

import os
import signal

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)


def parse_args(args: list[str]) -> tuple[dict[str, Any], str, list[str]] | None:
    """(options, container, command) as the click command would get them; None when the
    arguments need click (help, unknown or malformed options)."""
    from hull.cli import fastparse
    from hull.cli.run_options import EXEC_OPTIONS

    parsed = fastparse.parse(args, EXEC_OPTIONS)
    if parsed is None or len(parsed[1]) < 2:
        return None
    opts, positionals = parsed
    return opts, positionals[0], positionals[1:]


def fast_exec(args: list[str]) -> int | None:
    """``hull exec ARGS`` without click: the exit code, or None to use the click command."""
    parsed = parse_args(args)
    if parsed is None:
        return None
    engine = None

    def make_engine():  # type: ignore[no-untyped-def]
        nonlocal engine
        from hull.engine import Engine

        engine = Engine()
        return engine

    try:
        return run_exec(make_engine, parsed[1], parsed[2], parsed[0])
    finally:
        if engine is not None:
            engine.close()


def run_exec(engine: Callable[[], Any], container: str, command: list[str],
             opts: dict[str, Any]) -> int:
    """Run ``command`` in ``container`` as ``opts`` say; its exit code (0 when detached)."""
    from hull.runtime.cgroups import warm_up_migration

    warm_up_migration()  # the kernel's cgroup-move wait overlaps the lookups below
    from hull.engine.container_exec import ExecOptions
    from hull.errors import InvalidArgument
    from hull.runtime.base import Stdio

    tty = bool(opts["tty"])
    if tty and opts["interactive"] and not opts["detach"] and not os.isatty(0):
        raise InvalidArgument("the input device is not a TTY", exit_code=1)
    env: list[str] = []
    if opts["env_file"] or opts["env"]:
        from hull.cli.commands.run_core import env_items, read_env_file

        for path in opts["env_file"]:
            env += read_env_file(path)
        env = env_items(env + list(opts["env"]))
    size = None
    if tty:
        from hull.cli.terminal import window_size

        size = window_size(1)
    options = ExecOptions(cmd=list(command), tty=tty, user=opts["user"] or "",
                          workdir=opts["workdir"] or "", env=env,
                          privileged=bool(opts["privileged"]), console_size=size)
    null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
    try:
        if tty and not opts["detach"]:
            return _exec_terminal(engine(), container, options, null,
                                  bool(opts["interactive"]), opts["detach_keys"])
        stdin = 0 if opts["interactive"] else null
        stdio = Stdio(null, null, null) if opts["detach"] else Stdio(stdin, 1, 2)
        pid = _start(engine(), container, options, stdio)
    finally:
        os.close(null)
    if opts["detach"]:
        return 0
    return _wait_forwarding_signals(pid)


def _start(engine: Any, container: str, options: Any, stdio: Any,
           console_socket: str | None = None) -> int:
    """The exec'd process's pid: found without the database when that is possible."""
    from hull.engine.container_exec import start_exec, start_exec_running

    pid = start_exec_running(engine.run_root, container, options, stdio, console_socket)
    if pid is None:
        pid = start_exec(engine.containers, container, options, stdio, console_socket)
    return pid


def _wait_forwarding_signals(pid: int) -> int:
    """The process runs in its own session: signals sent to this CLI are passed on to it."""
    from hull.engine.container_exec import wait_exec

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in FORWARDED:
        signal.signal(sig, forward)
    return wait_exec(pid)


def _exec_terminal(engine: Any, container: str, options: Any, null: int, interactive: bool,
                   detach_keys: str | None) -> int:
    import socket
    import tempfile

    from hull.runtime.base import Stdio

    with tempfile.TemporaryDirectory(prefix="hull-exec-") as tmp:
        path = os.path.join(tmp, "console.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        listener.bind(path)
        listener.listen(1)
        listener.settimeout(10)
        try:
            pid = _start(engine, container, options, Stdio(null, null, null), path)
            conn, _ = listener.accept()
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        finally:
            listener.close()
    if not fds:
        from hull.errors import EngineError

        raise EngineError("the runtime sent no terminal")
    return relay_pty(fds[0], pid, interactive, detach_keys)


def relay_pty(master: int, pid: int, interactive: bool, detach_keys: str | None) -> int:
    """Copy between the user's terminal and the pty master until the process ends."""
    import selectors

    from hull.cli.terminal import (
        DEFAULT_DETACH_KEYS,
        DetachKeys,
        parse_detach_keys,
        raw_mode,
        set_window_size,
        window_size,
    )
    from hull.engine.container_exec import wait_exec
    from hull.shim.client import _write_all

    keys = DetachKeys(parse_detach_keys(detach_keys or DEFAULT_DETACH_KEYS))

    def resize(_signum: int = 0, _frame: object = None) -> None:
        size = window_size(1)
        if size:
            set_window_size(master, size)

    signal.signal(signal.SIGWINCH, resize)
    resize()
    sel = selectors.DefaultSelector()
    sel.register(master, selectors.EVENT_READ, "pty")
    if interactive:
        sel.register(0, selectors.EVENT_READ, "stdin")
    detached = False
    with raw_mode(0 if interactive else None):
        while not detached:
            try:
                events = sel.select()
            except InterruptedError:
                continue
            done = False
            for key, _ in events:
                if key.data == "stdin":
                    data = os.read(0, 65536)
                    if not data:
                        sel.unregister(0)
                        continue
                    data, detached = keys.feed(data)
                    if data:
                        _write_all(master, data)
                    continue
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    done = True
                    break
                _write_all(1, data)
            if done:
                break
    sel.close()
    os.close(master)
    if detached:
        return 0
    return wait_exec(pid)
