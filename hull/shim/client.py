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
    from hull.shim.sockpath import unix_path

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with unix_path(path) as short:
            sock.connect(short)
    except OSError:
        sock.close()
        raise HullError("the container is not running", 1) from None
    sock.sendall(proto.json_frame(proto.REQUEST, {"op": "attach", "stdin": stdin,
                                                  "stdout": True, "stderr": True}))
    return sock


def send_request(path: str, request: dict) -> bool:
    """Send one request (stop, update) to a shim; False if no shim listens there."""
    from hull.shim.sockpath import unix_path

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            with unix_path(path) as short:
                s.connect(short)
            s.sendall(proto.json_frame(proto.REQUEST, request))
        return True
    except OSError:
        return False


def stream(sock: socket.socket, stdin: bool, tty: bool, proxy_signals: bool = True,
           reader: proto.FrameReader | None = None, detach_keys: str | None = None) -> int:
    """Pump frames until the shim reports the exit; return the container's exit code.

    ``reader`` may hold frames that arrived together with the "started" report.  With a
    terminal the window size follows the user's (SIGWINCH); typing the detach keys (Docker's
    Ctrl-P Ctrl-Q by default) leaves the container running and returns 0.
    """
    stdin_fd = 0 if stdin else None
    keys = None
    if stdin_fd is not None and (tty or detach_keys):
        from hull.cli.terminal import DEFAULT_DETACH_KEYS, DetachKeys, parse_detach_keys

        keys = DetachKeys(parse_detach_keys(detach_keys or DEFAULT_DETACH_KEYS))
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
    winch = None
    if tty:  # the handler only wakes the loop, which sends the size between frames
        winch = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        sel.register(winch[0], selectors.EVENT_READ, "winch")
        with contextlib.suppress(ValueError, OSError):
            previous[signal.SIGWINCH] = signal.signal(
                signal.SIGWINCH, lambda _s, _f: os.write(winch[1], b"w"))
        _send_size(sock)
    reader = reader or proto.FrameReader()
    pending = b""  # the first pass parses what the reader already holds
    try:
        from hull.cli.terminal import raw_mode

        with raw_mode(stdin_fd if tty else None):
            while True:
                code = _handle(reader.feed(pending))
                pending = b""
                if code is not None:
                    return code
                try:
                    events = sel.select()
                except InterruptedError:
                    continue
                for key, _ in events:
                    if key.data == "winch":
                        with contextlib.suppress(BlockingIOError):
                            os.read(key.fd, 512)
                        _send_size(sock)
                        continue
                    if key.data == "stdin":
                        data = os.read(stdin_fd, 65536) if stdin_fd is not None else b""
                        if data and keys is not None:
                            data, detach = keys.feed(data)
                            if detach:
                                return 0
                            if not data:
                                continue
                        if data:
                            sock.sendall(proto.frame(proto.STDIN, data))
                        else:
                            sel.unregister(key.fd)
                            sock.sendall(proto.frame(proto.CLOSE_STDIN))
                        continue
                    pending = sock.recv(65536)
                    if not pending:
                        raise StreamEnded("lost the connection to the container's monitor")
    finally:
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, handler)  # type: ignore[arg-type]
        sel.close()
        sock.close()
        if winch is not None:
            os.close(winch[0])
            os.close(winch[1])


def _send_size(sock: socket.socket) -> None:
    from hull.cli.terminal import window_size

    size = window_size(1) or window_size(0)
    if size:
        with contextlib.suppress(OSError):
            sock.sendall(proto.json_frame(proto.RESIZE, {"height": size[0], "width": size[1]}))


def _handle(frames: Iterator[tuple[int, bytes]]) -> int | None:
    """Write output frames; the exit code once the EXIT frame came."""
    for kind, payload in frames:
        if kind == proto.STDOUT:
            _write_all(1, payload)
        elif kind == proto.STDERR:
            _write_all(2, payload)
        elif kind == proto.EXIT:
            return int(json.loads(payload).get("ExitCode", 0))
        elif kind == proto.ERROR:
            doc = json.loads(payload)
            raise HullError(doc.get("message", "error"), int(doc.get("exit_code") or 125))
    return None


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
