"""``hull exec``: run a command in a running container.

Without a terminal the new process gets this process's stdin (``-i``), stdout and stderr
directly, so no byte passes through Python.  With ``-t`` this process receives the pty
master from the runtime and relays it to the user's terminal in raw mode, keeping the
window size in sync.
"""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Any

import click

from hull.cli.context import engine_of

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)


@click.command("exec", context_settings={"allow_interspersed_args": False},
               short_help="Run a command in a running container")
@click.option("-i", "--interactive", is_flag=True, help="Keep STDIN open even if not attached.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY.")
@click.option("-d", "--detach", is_flag=True, help="Detached mode: run command in the"
              " background.")
@click.option("-u", "--user", default="", help="Username or UID (format: <name|uid>[:<group|gid>]).")
@click.option("-w", "--workdir", default="", help="Working directory inside the container.")
@click.option("-e", "--env", multiple=True, help="Set environment variables.")
@click.option("--env-file", multiple=True, help="Read in a file of environment variables.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command.")
@click.option("--detach-keys", default=None, help="Override the key sequence for detaching.")
@click.argument("container")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_context
def exec_(ctx: click.Context, container: str, command: tuple[str, ...], **opts: Any) -> None:
    """Run a command in a running container."""
    from hull.runtime.cgroups import warm_up_migration

    warm_up_migration()  # the kernel's cgroup-move wait overlaps the lookups below
    from hull.cli.commands.container_run import _env_items, _read_env_file
    from hull.engine.container_exec import ExecOptions, start_exec
    from hull.errors import InvalidArgument
    from hull.runtime.base import Stdio

    tty = bool(opts["tty"])
    if tty and opts["interactive"] and not opts["detach"] and not os.isatty(0):
        raise InvalidArgument("the input device is not a TTY", exit_code=1)
    env: list[str] = []
    for path in opts["env_file"]:
        env += _read_env_file(path)
    env += list(opts["env"])
    from hull.cli.terminal import window_size

    options = ExecOptions(cmd=list(command), tty=tty, user=opts["user"],
                          workdir=opts["workdir"], env=_env_items(env),
                          privileged=bool(opts["privileged"]),
                          console_size=window_size(1) if tty else None)
    service = engine_of(ctx).containers
    null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
    try:
        if tty and not opts["detach"]:
            ctx.exit(_exec_terminal(service, container, options, null,
                                    bool(opts["interactive"]), opts["detach_keys"]))
        stdin = 0 if opts["interactive"] else null
        stdio = Stdio(null, null, null) if opts["detach"] else Stdio(stdin, 1, 2)
        pid = start_exec(service, container, options, stdio)
    finally:
        os.close(null)
    if opts["detach"]:
        return
    ctx.exit(_wait_forwarding_signals(pid))


def _wait_forwarding_signals(pid: int) -> int:
    """The process runs in its own session: signals sent to this CLI are passed on to it."""
    from hull.engine.container_exec import wait_exec

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for sig in FORWARDED:
        signal.signal(sig, forward)
    return wait_exec(pid)


def _exec_terminal(service: Any, container: str, options: Any, null: int, interactive: bool,
                   detach_keys: str | None) -> int:
    import socket
    import tempfile

    from hull.engine.container_exec import start_exec
    from hull.runtime.base import Stdio

    with tempfile.TemporaryDirectory(prefix="hull-exec-") as tmp:
        path = os.path.join(tmp, "console.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        listener.bind(path)
        listener.listen(1)
        listener.settimeout(10)
        try:
            pid = start_exec(service, container, options, Stdio(null, null, null), path)
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
