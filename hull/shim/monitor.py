"""The shim's life: start the container, pump its output, wait for its end, clean up.

Runs in a detached process forked from the CLI (see :mod:`hull.shim.launch`).  It is the
container init's parent (directly for the builtin runtime; as child subreaper for runc and
crun, whose init is re-parented to it), so it learns the exit status from the kernel, not
by polling.  One event loop (epoll) watches: a pidfd of init, the container's stdout/stderr
pipes (or its pty), the attach socket and the connected clients.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import selectors
import socket
import time
from typing import TYPE_CHECKING

from hull.errors import HullError
from hull.shim import protocol as proto

if TYPE_CHECKING:
    from hull.engine.container_store import ContainerStore
    from hull.runtime.base import Runtime
    from hull.shim.plan import ShimPlan

PR_SET_CHILD_SUBREAPER = 36
EXIT_START_FAILED = 128   # Docker records this for start failures other than 126/127
DRAIN_AFTER_EXIT = 2.0    # seconds to keep reading output after init exited
CLIENT_SEND_TIMEOUT = 10.0


def process_start_time(pid: int) -> int:
    """Start time (clock ticks) of ``pid``: with the pid it names one process for good."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return 0
    return int(raw[raw.rindex(b")") + 2:].split()[19])


class Client:
    """A connected client: the launching CLI, an attacher or a waiter."""

    def __init__(self, sock: socket.socket, output: bool = False, stdin: bool = False) -> None:
        self.sock = sock
        self.reader = proto.FrameReader()
        self.output = output
        self.stdin = stdin
        sock.settimeout(CLIENT_SEND_TIMEOUT)

    def send(self, data: bytes) -> bool:
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False


class Monitor:
    def __init__(self, plan: ShimPlan, ctl: socket.socket, attached: bool) -> None:
        self.plan = plan
        self.paths = plan.paths
        self.sel = selectors.DefaultSelector()
        self.clients: list[Client] = [Client(ctl, output=attached, stdin=attached
                                             and plan.open_stdin)]
        self.stdin_fd: int | None = None
        self.stdin_pending = b""
        self.outputs: dict[int, str] = {}
        self.pid = 0
        self.status: int | None = None
        self.exited_at = 0.0
        self.store: ContainerStore | None = None
        self.runtime: Runtime | None = None
        self.listener: socket.socket | None = None
        self.log = None

    # ---- start ---------------------------------------------------------------------------

    def run(self) -> None:
        from hull.runtime import syscalls as sc

        sc.prctl(PR_SET_CHILD_SUBREAPER, 1)
        try:
            self._start()
        except HullError as e:
            self._failed(str(e), e.exit_code)
            return
        except Exception as e:  # report instead of dying silently; the CLI prints it
            self._failed(f"{type(e).__name__}: {e}", 125)
            return
        from hull.shim.launch import trim_memory

        trim_memory()
        self._loop()
        self._finish()

    def _open_store(self) -> ContainerStore:
        from hull.engine.container_store import ContainerStore
        from hull.state.db import Database

        return ContainerStore(Database(self.plan.db_path))

    def _start(self) -> None:
        from hull.runtime import Stdio, get_runtime
        from hull.shim.jsonlog import JsonLog

        plan, paths = self.plan, self.paths
        self.store = self._open_store()
        shim = {"ShimPid": os.getpid(), "ShimStart": process_start_time(os.getpid())}
        self.store.update(plan.container_id, lambda c: c.hull.update(shim))
        self.runtime = get_runtime(plan.runtime, paths.runtime_root)
        self.log = JsonLog(paths.log)
        self._listen()
        child_ends: list[int] = []
        console = None
        try:
            if plan.tty:
                console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(paths.console_socket)
                console.bind(paths.console_socket)
                console.listen(1)
                null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
                child_ends.append(null)
                stdio = Stdio(null, null, null)
            else:
                out_r, out_w = os.pipe2(os.O_CLOEXEC)
                err_r, err_w = os.pipe2(os.O_CLOEXEC)
                self.outputs = {out_r: "stdout", err_r: "stderr"}
                child_ends += [out_w, err_w]
                if plan.open_stdin:
                    in_r, in_w = os.pipe2(os.O_CLOEXEC)
                    child_ends.append(in_r)
                    self.stdin_fd = in_w
                else:
                    in_r = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
                    child_ends.append(in_r)
                stdio = Stdio(in_r, out_w, err_w)
            self.pid = self.runtime.create(plan.container_id, paths.bundle, stdio,
                                           console_socket=paths.console_socket if console
                                           else None)
        finally:
            for fd in child_ends:
                os.close(fd)
        if console is not None:
            master = self._receive_master(console)
            self.outputs = {master: "stdout"}
            self.stdin_fd = master if plan.open_stdin else None
        self.pidfd = os.pidfd_open(self.pid)
        self.runtime.start(plan.container_id)
        self._record_started()
        self.clients[0].send(proto.json_frame(proto.STARTED, {"pid": self.pid}))

    def _receive_master(self, console: socket.socket) -> int:
        console.settimeout(10)
        try:
            conn, _ = console.accept()
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        finally:
            console.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.paths.console_socket)
        if not fds:
            raise HullError("the runtime sent no terminal", 125)
        os.set_blocking(fds[0], True)
        return fds[0]

    def _listen(self) -> None:
        path = self.paths.attach_socket
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        sock.bind(path)
        os.chmod(path, 0o600)
        sock.listen(16)
        self.listener = sock

    def _record_started(self) -> None:
        from hull.engine.container_model import RUNNING, rfc3339_nano

        pid = self.pid

        def started(c):  # type: ignore[no-untyped-def]
            c.state.update(Status=RUNNING, Running=True, Paused=False, Restarting=False,
                           OOMKilled=False, Dead=False, Pid=pid, ExitCode=0, Error="",
                           StartedAt=rfc3339_nano())

        assert self.store is not None
        self.store.update(self.plan.container_id, started)

    def _failed(self, message: str, code: int) -> None:
        """The container could not start: record why, clean up, tell the CLI."""
        from hull.engine.container_teardown import release

        exit_code = code if code in (126, 127) else EXIT_START_FAILED
        with contextlib.suppress(Exception):
            release(self.plan.runtime, self.paths)
        removed = False
        with contextlib.suppress(Exception):
            store = self.store or self._open_store()

            def failed(c):  # type: ignore[no-untyped-def]
                c.state.update(Running=False, Pid=0, ExitCode=exit_code, Error=message)
                c.hull["ShimPid"] = 0

            store.update(self.plan.container_id, failed)
            if self.plan.auto_remove:
                self._remove(store)
                removed = True
        self.clients[0].send(proto.json_frame(proto.ERROR, {
            "message": message, "exit_code": code if code in (126, 127) else 125,
            "removed": removed}))
        self._close_clients()

    # ---- the loop ------------------------------------------------------------------------

    def _loop(self) -> None:
        sel = self.sel
        sel.register(self.pidfd, selectors.EVENT_READ, "pid")
        for fd in self.outputs:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ, "out")
        assert self.listener is not None
        sel.register(self.listener, selectors.EVENT_READ, "listen")
        for client in self.clients:
            sel.register(client.sock, selectors.EVENT_READ, client)
        while True:
            if self.status is not None:
                if not self.outputs or time.monotonic() - self.exited_at > DRAIN_AFTER_EXIT:
                    return
                timeout: float | None = 0.1
            else:
                timeout = None
            for key, _ in sel.select(timeout):
                what = key.data
                if what == "pid":
                    self._reap()
                elif what == "out":
                    self._pump(key.fd)
                elif what == "listen":
                    self._accept()
                elif what == "stdin":
                    self._flush_stdin()
                else:
                    self._from_client(what)

    def _reap(self) -> None:
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self.pid, 255 << 8
        if pid == 0:
            return
        self.status = os.waitstatus_to_exitcode(status)
        if self.status < 0:
            self.status = 128 - self.status
        self.exited_at = time.monotonic()
        self.sel.unregister(self.pidfd)
        os.close(self.pidfd)
        while True:  # adopted orphans (runc's init helpers) are ours to reap too
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break

    def _pump(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: the pty's other side is gone
                raise
            data = b""
        stream = self.outputs[fd]
        assert self.log is not None
        if not data:
            self.sel.unregister(fd)
            del self.outputs[fd]
            self.log.flush(stream)
            if fd != self.stdin_fd:
                os.close(fd)
            return
        self.log.write(stream, data)
        packet = proto.frame(proto.STDOUT if stream == "stdout" else proto.STDERR, data)
        for client in list(self.clients):
            if client.output and not client.send(packet):
                self._drop(client)

    def _accept(self) -> None:
        assert self.listener is not None
        sock, _ = self.listener.accept()
        client = Client(sock)
        self.clients.append(client)
        self.sel.register(sock, selectors.EVENT_READ, client)

    def _from_client(self, client: Client) -> None:
        try:
            data = client.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return
        try:
            frames = list(client.reader.feed(data))
        except ValueError:
            self._drop(client)
            return
        for kind, payload in frames:
            if kind == proto.STDIN and client.stdin:
                self._to_stdin(payload)
            elif kind == proto.CLOSE_STDIN and client.stdin:
                self._close_stdin()
            elif kind == proto.REQUEST:
                self._request(client, json.loads(payload or b"{}"))
            elif kind == proto.SIGNAL:
                with contextlib.suppress(HullError, OSError, ValueError):
                    assert self.runtime is not None
                    self.runtime.kill(self.plan.container_id, int(json.loads(payload)["signal"]))

    def _request(self, client: Client, request: dict) -> None:
        if request.get("op") == "attach":
            client.output = bool(request.get("stdout", True) or request.get("stderr", True))
            client.stdin = bool(request.get("stdin")) and self.stdin_fd is not None
        # "wait": nothing to do now; every client gets the EXIT frame at the end

    def _drop(self, client: Client) -> None:
        if client in self.clients:
            self.clients.remove(client)
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(client.sock)
            client.sock.close()
            if client.stdin and self.plan.stdin_once and not self.plan.tty:
                self._close_stdin()

    def _to_stdin(self, data: bytes) -> None:
        if self.stdin_fd is None:
            return
        if not self.stdin_pending:
            try:
                os.set_blocking(self.stdin_fd, False)
                written = os.write(self.stdin_fd, data)
            except BlockingIOError:
                written = 0
            except OSError:
                self._close_stdin()
                return
            data = data[written:]
            if not data:
                return
            self.sel.register(self.stdin_fd, selectors.EVENT_WRITE, "stdin")
        self.stdin_pending += data

    def _flush_stdin(self) -> None:
        assert self.stdin_fd is not None
        try:
            written = os.write(self.stdin_fd, self.stdin_pending)
        except BlockingIOError:
            return
        except OSError:
            self._close_stdin()
            return
        self.stdin_pending = self.stdin_pending[written:]
        if not self.stdin_pending:
            self.sel.unregister(self.stdin_fd)
            if self.stdin_closing:
                self._close_stdin()

    stdin_closing = False

    def _close_stdin(self) -> None:
        if self.stdin_fd is None or self.plan.tty:
            return
        if self.stdin_pending:
            self.stdin_closing = True
            return
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(self.stdin_fd)
        os.close(self.stdin_fd)
        self.stdin_fd = None

    # ---- the end -------------------------------------------------------------------------

    def _finish(self) -> None:
        from hull.engine.container_model import EXITED, rfc3339_nano
        from hull.engine.container_teardown import oom_killed, release

        plan = self.plan
        assert self.log is not None and self.store is not None
        self.log.close()
        oom = oom_killed(plan.runtime, self.paths)
        release(plan.runtime, self.paths)

        code = self.status if self.status is not None else 255
        finished = rfc3339_nano()

        def exited(c):  # type: ignore[no-untyped-def]
            c.state.update(Status=EXITED, Running=False, Paused=False, Pid=0, ExitCode=code,
                           OOMKilled=oom, FinishedAt=finished)
            c.hull["ShimPid"] = 0

        removed = False
        try:
            self.store.update(plan.container_id, exited)
            if plan.auto_remove:
                self._remove(self.store)
                removed = True
        except HullError:
            pass
        packet = proto.json_frame(proto.EXIT, {"ExitCode": code, "OOMKilled": oom,
                                               "Removed": removed})
        for client in list(self.clients):
            client.send(packet)
        self._close_clients()

    def _remove(self, store: ContainerStore) -> None:
        from hull.engine.container_teardown import discard

        discard(store, self.paths, self.plan.snapshotter)

    def _close_clients(self) -> None:
        for client in self.clients:
            with contextlib.suppress(OSError):
                client.sock.close()
        self.clients = []
        if self.listener is not None:
            self.listener.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.paths.attach_socket)
