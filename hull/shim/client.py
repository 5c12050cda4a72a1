"""The client side of a shim connection: stream a container's output to this process's
stdout/stderr, feed it stdin, forward signals, and return its exit code.

Used by attached ``run`` and ``start -a`` (over the launch socket) and for attaching to a
running container (over ``attach.sock``).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
from collections.abc import Iterator

from hull.errors import HullError
from hull.shim import protocol as proto

PROXIED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                   signal.SIGUSR1, signal.SIGUSR2)


class StreamEnded(HullError):
    """The shim went away without reporting an exit."""

    exit_code = 125


def connect_attach(path: str, stdin: bool) -> socket.socket:
    """Attach to a running container's shim through its attach socket."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        raise HullError("the container is not running", 1) from None
    sock.sendall(proto.json_frame(proto.REQUEST, {"op": "attach", "stdin": stdin,
                                                  "stdout": True, "stderr": True}))
    return sock


@contextlib.contextmanager
def _raw_terminal(fd: int | None) -> Iterator[None]:
    if fd is None or not os.isatty(fd):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def stream(sock: socket.socket, stdin: bool, tty: bool, proxy_signals: bool = True) -> int:
    """Pump frames until the shim reports the exit; return the container's exit code."""
    stdin_fd = 0 if stdin else None
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_READ, "sock")
    if stdin_fd is not None:
        try:
            sel.register(stdin_fd, selectors.EVENT_READ, "stdin")
        except (ValueError, OSError):  # e.g. /dev/null is not pollable: treat as empty
            sock.sendall(proto.frame(proto.CLOSE_STDIN))
            stdin_fd = None
    previous: dict[int, object] = {}
    if proxy_signals and not tty:
        def forward(signum: int, _frame: object) -> None:
            with contextlib.suppress(OSError):
                sock.sendall(proto.json_frame(proto.SIGNAL, {"signal": signum}))

        for sig in PROXIED_SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                previous[sig] = signal.signal(sig, forward)
    reader = proto.FrameReader()
    try:
        with _raw_terminal(stdin_fd if tty else None):
            while True:
                for key, _ in sel.select():
                    if key.data == "stdin":
                        data = os.read(stdin_fd, 65536) if stdin_fd is not None else b""
                        if data:
                            sock.sendall(proto.frame(proto.STDIN, data))
                        else:
                            sel.unregister(key.fd)
                            sock.sendall(proto.frame(proto.CLOSE_STDIN))
                        continue
                    data = sock.recv(65536)
                    if not data:
                        raise StreamEnded("lost the connection to the container's monitor")
                    for kind, payload in reader.feed(data):
                        if kind == proto.STDOUT:
                            _write_all(1, payload)
                        elif kind == proto.STDERR:
                            _write_all(2, payload)
                        elif kind == proto.EXIT:
                            return int(json.loads(payload).get("ExitCode", 0))
                        elif kind == proto.ERROR:
                            doc = json.loads(payload)
                            raise HullError(doc.get("message", "error"),
                                            int(doc.get("exit_code") or 125))
    finally:
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, handler)  # type: ignore[arg-type]
        sel.close()
        sock.close()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            import select

            select.select([], [fd], [])
            continue
        view = view[written:]
