"""The shim's event loop: pump a container's output, serve attach clients, wait for its end.

The loop runs first in the process forked from the CLI (right after the container started,
see :mod:`hull.shim.starter`).  Short-lived containers finish there.  A container still
running after :data:`HANDOVER_AFTER` seconds gets a lean monitor: the shim re-executes a
bare interpreter (``python -I -S``) that imports only this module, and passes its open
descriptors and buffers over a memfd.  The pid stays the same (the container's init stays
its child) and the CLI's memory is gone, so a waiting container costs a few megabytes.

So this module must stay light: no json, socket, selectors or typing at import time.
"""

from __future__ import annotations

import errno
import os
import select
import sys
import time

from hull.shim import protocol as proto
from hull.shim.jsonlog import JsonLog

HANDOVER_AFTER = 0.2      # seconds a container may run before the shim slims down
DRAIN_AFTER_EXIT = 2.0    # seconds to keep reading output after init exited
CLIENT_SEND_TIMEOUT = 10.0
_IN = select.EPOLLIN
_OUT = select.EPOLLOUT


def _socket_of(fd: int):  # type: ignore[no-untyped-def]
    import _socket

    return _socket.socket(fileno=fd)


class Client:
    """A connected client: the launching CLI, an attacher or a waiter."""

    def __init__(self, sock, output: bool = False, stdin: bool = False) -> None:  # type: ignore[no-untyped-def]
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
    """Everything the loop needs, as plain values so it can cross an exec."""

    def __init__(self, spec: dict, pid: int, pidfd: int, log: JsonLog,
                 outputs: dict[int, str], stdin_fd: int | None, listener, clients: list[Client],  # type: ignore[no-untyped-def]
                 stdin_pending: bytes = b"", stdin_closing: bool = False) -> None:
        self.spec = spec
        self.pid = pid
        self.pidfd = pidfd
        self.log = log
        self.outputs = outputs
        self.stdin_fd = stdin_fd
        self.stdin_pending = stdin_pending
        self.stdin_closing = stdin_closing
        self.listener = listener
        self.clients = clients
        self.status: int | None = None
        self.exited_at = 0.0
        self.started_at = time.monotonic()
        self.stop_requested = False
        self.health = None  # the health-check schedule (hull.shim.health), when configured
        if spec.get("health"):
            from hull.shim.health import HealthSchedule

            self.health = HealthSchedule(spec["health"], self.started_at)
        self.epoll = select.epoll()
        self.handlers: dict[int, object] = {}
        self._watch(pidfd, "pid")
        for fd in outputs:
            os.set_blocking(fd, False)
            self._watch(fd, "out")
        self._watch(listener.fileno(), "listen")
        for client in clients:
            self._watch(client.sock.fileno(), client)
        if stdin_pending and stdin_fd is not None:
            self._watch(stdin_fd, "stdin", _OUT)

    def _watch(self, fd: int, what: object, events: int = _IN) -> None:
        self.handlers[fd] = what
        self.epoll.register(fd, events)

    def _unwatch(self, fd: int) -> None:
        if self.handlers.pop(fd, None) is not None:
            try:
                self.epoll.unregister(fd)
            except OSError:
                pass

    # ---- the loop ------------------------------------------------------------------------

    def loop(self, until: float | None = None) -> bool:
        """Run until the container exited and its output drained (True) or ``until``."""
        while True:
            now = time.monotonic()
            if self.status is not None:
                if not self.outputs or now - self.exited_at > DRAIN_AFTER_EXIT:
                    return True
                timeout = 0.1
            elif until is not None:
                if now >= until:
                    return False
                timeout = until - now
            else:
                timeout = -1
            if self.health is not None and self.status is None:
                due = self.health.due_in(now)
                if due == 0:
                    self._watch(self.health.launch(self.spec), "probe")
                elif due is not None and (timeout < 0 or due < timeout):
                    timeout = due
            for fd, _ in self.epoll.poll(timeout):
                what = self.handlers.get(fd)
                if what == "pid":
                    self._reap()
                elif what == "probe":
                    self._unwatch(fd)
                    self.health.done()  # type: ignore[union-attr]
                elif what == "out":
                    self._pump(fd)
                elif what == "listen":
                    self._accept()
                elif what == "stdin":
                    self._flush_stdin()
                elif isinstance(what, Client):
                    self._from_client(what)

    def _reap(self) -> None:
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self.pid, 255 << 8
        if pid == 0:
            return
        code = os.waitstatus_to_exitcode(status)
        self.status = 128 - code if code < 0 else code
        self.exited_at = time.monotonic()
        self._unwatch(self.pidfd)
        os.close(self.pidfd)
        while True:  # adopted orphans are ours to reap too
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
        if not data:
            self._unwatch(fd)
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
        try:
            fd, _ = self.listener._accept()
        except OSError:
            return
        client = Client(_socket_of(fd))
        self.clients.append(client)
        self._watch(fd, client)

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
                request = proto.parse_json(payload)
                if request.get("op") == "stop":  # a user's stop ends any restart loop
                    self.stop_requested = True
                elif request.get("op") == "update":  # hull update --restart
                    self.spec["restart_policy"] = request.get("restart_policy", "no")
                    self.spec["restart_max"] = int(request.get("restart_max") or 0)
                elif request.get("op") == "attach":
                    client.output = True
                    client.stdin = bool(request.get("stdin")) and self.stdin_fd is not None
                # "wait": nothing to do now; every client gets the EXIT frame at the end
            elif kind == proto.SIGNAL:
                self._signal(int(proto.parse_json(payload).get("signal", 0)))
            elif kind == proto.RESIZE and self.spec["tty"]:
                self._resize(proto.parse_json(payload))

    def _signal(self, signum: int) -> None:
        from hull.errors import HullError

        try:
            from hull.runtime import get_runtime

            runtime = get_runtime(self.spec["runtime"],
                                  os.path.join(self.spec["run_root"], "runtime"))
            runtime.kill(self.spec["id"], signum)
        except (HullError, OSError, ValueError):
            pass

    def _resize(self, size: dict) -> None:
        """The user's terminal changed size: so does the container's (it gets SIGWINCH)."""
        import fcntl
        import struct

        rows, cols = int(size.get("height") or 0), int(size.get("width") or 0)
        if not rows or not cols:
            return
        for fd in self.outputs:  # with a terminal, the only output is the pty master
            try:
                fcntl.ioctl(fd, 0x5414, struct.pack("HHHH", rows, cols, 0, 0))  # TIOCSWINSZ
            except OSError:
                pass

    def _drop(self, client: Client) -> None:
        if client in self.clients:
            self.clients.remove(client)
            self._unwatch(client.sock.fileno())
            client.sock.close()
            if client.stdin and self.spec["stdin_once"] and not self.spec["tty"]:
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
            if not self.spec["tty"]:
                self._watch(self.stdin_fd, "stdin", _OUT)
        self.stdin_pending += data

    def _flush_stdin(self) -> None:
        if self.stdin_fd is None:
            return
        try:
            written = os.write(self.stdin_fd, self.stdin_pending)
        except BlockingIOError:
            return
        except OSError:
            self.stdin_pending = b""
            self._close_stdin()
            return
        self.stdin_pending = self.stdin_pending[written:]
        if not self.stdin_pending:
            self._unwatch(self.stdin_fd)
            if self.stdin_closing:
                self._close_stdin()

    def _close_stdin(self) -> None:
        if self.stdin_fd is None or self.spec["tty"]:
            return
        if self.stdin_pending:
            self.stdin_closing = True
            return
        self._unwatch(self.stdin_fd)
        os.close(self.stdin_fd)
        self.stdin_fd = None

    # ---- the end -------------------------------------------------------------------------

    def end(self) -> None:
        """The container exited: restart it per its policy (then continue in a lean process)
        or finish for good."""
        from hull.shim.restart import should_restart

        code = self.status if self.status is not None else 255
        if self.health is not None:
            if self.health.probe_fd >= 0:
                self._unwatch(self.health.probe_fd)
            self.health.cancel()
        self.pause_for(0)  # a stop request sent just before the kill must count
        if should_restart(self.spec, code, self.stop_requested):
            from hull.shim.restart import restart

            if restart(self, time.monotonic() - self.started_at):
                self.handover()  # sheds what the restart imported; does not return
        self.finish()

    def finish(self) -> None:
        """Record the exit, release everything, tell every client the exit code."""
        from hull.shim.finish import finish_container

        self.log.close()
        code = self.status if self.status is not None else 255
        result = finish_container(self.spec, code)
        self.end_clients({"ExitCode": code, **result})
        self.close_clients()

    def end_clients(self, result: dict) -> None:
        """Send the exit to every client and let them go (the listener stays)."""
        packet = proto.json_frame(proto.EXIT, result)
        for client in list(self.clients):
            client.send(packet)
            self._drop(client)

    def pause_for(self, seconds: float) -> bool:
        """Serve clients for ``seconds`` (a restart's back-off); False if a stop came."""
        deadline = time.monotonic() + seconds
        while not self.stop_requested:
            left = deadline - time.monotonic()
            events = self.epoll.poll(max(left, 0))
            if not events and left <= 0:
                return True
            for fd, _ in events:
                what = self.handlers.get(fd)
                if what == "listen":
                    self._accept()
                elif isinstance(what, Client):
                    self._from_client(what)
        return False

    def adopt(self, pid: int, pidfd: int, outputs: dict[int, str],
              stdin_fd: int | None) -> None:
        """Watch a new run of the container (after a restart)."""
        if self.stdin_fd is not None and self.stdin_fd not in self.outputs:
            self._unwatch(self.stdin_fd)
            os.close(self.stdin_fd)
        for fd in list(self.outputs):
            self._unwatch(fd)
            os.close(fd)
        self.pid, self.pidfd, self.outputs, self.stdin_fd = pid, pidfd, outputs, stdin_fd
        self.stdin_pending = b""
        self.stdin_closing = False
        self.status = None
        self.started_at = time.monotonic()
        if self.health is not None:
            from hull.shim.health import HealthSchedule

            self.health = HealthSchedule(self.spec["health"], self.started_at)
        self._watch(pidfd, "pid")
        for fd in outputs:
            os.set_blocking(fd, False)
            self._watch(fd, "out")

    def close_clients(self) -> None:
        for client in self.clients:
            try:
                client.sock.close()
            except OSError:
                pass
        self.clients = []
        self.listener.close()
        try:
            os.unlink(os.path.join(self.spec["bundle"], "attach.sock"))
        except FileNotFoundError:
            pass

    # ---- slimming down -------------------------------------------------------------------

    def handover(self) -> None:
        """Replace this (CLI-sized) process image with a lean interpreter running the loop."""
        import marshal

        fds = [self.pidfd, self.listener.fileno(), *self.outputs]
        if self.log.fd >= 0:
            fds.append(self.log.fd)
        if self.stdin_fd is not None and self.stdin_fd not in fds:
            fds.append(self.stdin_fd)
        fds += [c.sock.fileno() for c in self.clients]
        probe = (0, -1, 0.0)
        if self.health is not None:
            probe = (self.health.probe_pid, self.health.probe_fd, self.health.next_due)
            if self.health.probe_fd >= 0:
                fds.append(self.health.probe_fd)
        state = {
            "spec": self.spec, "pid": self.pid, "pidfd": self.pidfd, "log_fd": self.log.fd,
            "log_pending": self.log.pending, "log_path": self.log.path,
            "log_written": self.log.written, "outputs": self.outputs,
            "stdin_fd": -1 if self.stdin_fd is None else self.stdin_fd,
            "stdin_pending": self.stdin_pending, "stdin_closing": self.stdin_closing,
            "listener": self.listener.fileno(), "started_at": self.started_at,
            "stop_requested": self.stop_requested, "probe": probe,
            "clients": [(c.sock.fileno(), c.output, c.stdin, bytes(c.reader._buf))
                        for c in self.clients],
        }
        memfd = os.memfd_create("hull-shim-state", 0)
        os.write(memfd, marshal.dumps(state))
        for fd in fds:
            os.set_inheritable(fd, True)
        for c in self.clients:  # the sockets must stay blocking-with-timeout after exec
            c.sock.setblocking(True)
        package_parent = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
        boot = ("import sys; sys.path.insert(0, sys.argv[1]); "
                "from hull.shim.monitor import resume; resume(int(sys.argv[2]))")
        os.execv(sys.executable, [sys.executable, "-I", "-S", "-c", boot, package_parent,
                                  str(memfd)])


def resume(memfd: int) -> None:
    """Entry point of the lean shim after :meth:`Monitor.handover`."""
    import marshal

    code = 0
    try:
        os.lseek(memfd, 0, os.SEEK_SET)
        chunks = []
        while chunk := os.read(memfd, 1 << 20):
            chunks.append(chunk)
        os.close(memfd)
        state = marshal.loads(b"".join(chunks))
        clients = []
        for fd, output, stdin, pending in state["clients"]:
            client = Client(_socket_of(fd), output, stdin)
            client.reader._buf += pending
            clients.append(client)
        monitor = Monitor(
            state["spec"], state["pid"], state["pidfd"],
            JsonLog(state["log_path"], fd=state["log_fd"], pending=state["log_pending"],
                    max_size=state["spec"]["log_max_size"],
                    max_file=state["spec"]["log_max_file"], written=state["log_written"]),
            state["outputs"], None if state["stdin_fd"] < 0 else state["stdin_fd"],
            _socket_of(state["listener"]), clients, state["stdin_pending"],
            state["stdin_closing"])
        monitor.started_at = state["started_at"]
        monitor.stop_requested = state["stop_requested"]
        if monitor.health is not None:
            monitor.health.started_at = state["started_at"]
            probe_pid, probe_fd, monitor.health.next_due = state["probe"]
            if probe_fd >= 0:
                monitor.health.probe_pid, monitor.health.probe_fd = probe_pid, probe_fd
                monitor._watch(probe_fd, "probe")
        monitor.loop()
        monitor.end()
    except BaseException:
        code = 1
        log_crash(state["spec"]["dir"] if "state" in locals() else "")
    finally:
        os._exit(code)


def log_crash(directory: str) -> None:
    """Leave the traceback of a shim crash in the container's directory."""
    try:
        import traceback

        with open(os.path.join(directory or "/tmp", "shim-error.log"), "a") as f:
            traceback.print_exc(file=f)
    except BaseException:
        pass
