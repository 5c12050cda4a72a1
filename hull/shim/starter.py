"""The first moments of a shim, in the process forked from the CLI: start the container.

Everything the runtime needs is already imported (the CLI prepared the bundle), so create
and start cost no imports.  The shim reports "started" (or the error) to the CLI, runs the
event loop briefly, and then either finishes a short-lived container itself or hands the
loop over to a lean interpreter (:meth:`hull.shim.monitor.Monitor.handover`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from typing import TYPE_CHECKING

from hull.errors import HullError
from hull.shim import protocol as proto
from hull.shim.jsonlog import JsonLog
from hull.shim.monitor import HANDOVER_AFTER, Client, Monitor
from hull.shim.sockpath import unix_path

if TYPE_CHECKING:
    from hull.shim.plan import ShimPlan

PR_SET_CHILD_SUBREAPER = 36
#: What starting and finishing a container imports, in the order it is needed.
WARM_UP = ("hull.state.db", "hull.engine.container_store", "hull.engine.container_model",
           "hull.shim.finish", "hull.engine.container_teardown", "hull.engine.container_netns",
           "hull.snapshot.overlay", "hull.snapshot.native", "hull.snapshot.mount",
           "hull.volume.active", "hull.network.plumbing", "shutil")
EXIT_START_FAILED = 128   # Docker records this for start failures other than 126/127


def process_start_time(pid: int) -> int:
    """Start time (clock ticks) of ``pid``: with the pid it names one process for good."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return 0
    return int(raw[raw.rindex(b")") + 2:].split()[19])


def serve_pending(ctl: socket.socket, runtime: str) -> str:
    """A pre-forked shim: load what starting needs, then wait for the plan and run it.

    Returns the container directory (for crash logs); returns early if the CLI gave up.
    """
    import importlib
    import select

    from hull.runtime import get_runtime

    with contextlib.suppress(HullError):  # a bad name is the CLI's to report
        get_runtime(runtime, "/")  # imports the runtime's modules; touches nothing
    for module in WARM_UP:  # while the CLI works, unless the plan is already here
        if select.select([ctl], [], [], 0)[0]:
            break
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    reader = proto.FrameReader()
    while True:
        data = ctl.recv(65536)
        if not data:
            return ""  # the CLI could not create the container
        for kind, payload in reader.feed(data):
            if kind == proto.PLAN:
                request = proto.parse_json(payload)
                from hull.shim.plan import ShimPlan

                plan = ShimPlan.from_spec(request["plan"])
                run_shim(plan, ctl, bool(request.get("attached")))
                return plan.paths.dir


def run_shim(plan: ShimPlan, ctl: socket.socket, attached: bool) -> None:
    """Start the container and watch it to the end (in this process or a lean successor)."""
    from hull.runtime import syscalls as sc

    sc.prctl(PR_SET_CHILD_SUBREAPER, 1)
    spec = plan.spec()
    first = Client(ctl, output=attached, stdin=attached and plan.open_stdin)
    try:
        monitor = _start(plan, spec, first)
    except HullError as e:
        _failed(plan, spec, first, str(e), e.exit_code)
        return
    except Exception as e:  # report instead of dying silently; the CLI prints it
        _failed(plan, spec, first, f"{type(e).__name__}: {e}", 125)
        return
    if monitor.loop(until=time.monotonic() + HANDOVER_AFTER):
        monitor.end()
    else:
        monitor.handover()


def _start(plan: ShimPlan, spec: dict, first: Client) -> Monitor:
    from hull.engine.container_model import RUNNING, rfc3339_nano
    from hull.runtime import get_runtime
    from hull.shim.finish import open_store

    paths = plan.paths
    store = open_store(spec)
    shim = {"ShimPid": os.getpid(), "ShimStart": process_start_time(os.getpid())}
    store.update(plan.container_id, lambda c: c.hull.update(shim))
    from hull.engine.container_files import write_small

    write_small(paths.shim_file, f"{shim['ShimPid']} {shim['ShimStart']}")  # for exec's lookup
    runtime = get_runtime(plan.runtime, paths.runtime_root)
    log = JsonLog(paths.log if plan.log_driver == "json-file" else None,
                  max_size=plan.log_max_size, max_file=plan.log_max_file)
    listener = _listen(paths.attach_socket)
    pid, pidfd, outputs, stdin_fd = spawn(plan, runtime)

    def started(c):  # type: ignore[no-untyped-def]
        c.state.update(Status=RUNNING, Running=True, Paused=False, Restarting=False,
                       OOMKilled=False, Dead=False, Pid=pid, ExitCode=0, Error="",
                       StartedAt=rfc3339_nano())
        c.data["RestartCount"] = plan.restart_count
        if spec.get("health"):
            c.state["Health"] = {"Status": "starting", "FailingStreak": 0, "Log": []}
        else:
            c.state.pop("Health", None)
        c.hull.pop("ManuallyStopped", None)

    store.update(plan.container_id, started)
    store.db.close()
    first.send(proto.json_frame(proto.STARTED, {"pid": pid}))
    return Monitor(spec, pid, pidfd, log, outputs, stdin_fd, listener, [first])


def spawn(plan: ShimPlan, runtime) -> tuple[int, int, dict[int, str], int | None]:  # type: ignore[no-untyped-def]
    """Create and start the container's init from its bundle, with this shim holding its
    stdio (pipes, or the pty master).  (pid, pidfd, output fds, stdin fd)."""
    from hull.runtime import Stdio

    paths = plan.paths
    child_ends: list[int] = []
    console = None
    stdin_fd = None
    outputs: dict[int, str] = {}
    try:
        if plan.tty:
            console = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(paths.console_socket)
            with unix_path(paths.console_socket) as short:
                console.bind(short)
            console.listen(1)
            null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
            child_ends.append(null)
            stdio = Stdio(null, null, null)
        else:
            out_r, out_w = os.pipe2(os.O_CLOEXEC)
            err_r, err_w = os.pipe2(os.O_CLOEXEC)
            outputs = {out_r: "stdout", err_r: "stderr"}
            child_ends += [out_w, err_w]
            if plan.open_stdin:
                in_r, stdin_fd = os.pipe2(os.O_CLOEXEC)
            else:
                in_r = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
            child_ends.append(in_r)
            stdio = Stdio(in_r, out_w, err_w)
        with unix_path(paths.console_socket, for_others=True) as console_path:
            pid = runtime.create(plan.container_id, paths.bundle, stdio,
                                 console_socket=console_path if console else None)
    except BaseException:
        for fd in [*outputs, *([stdin_fd] if stdin_fd is not None else [])]:
            os.close(fd)
        if console is not None:
            console.close()
        raise
    finally:
        for fd in child_ends:
            os.close(fd)
    if console is not None:
        master = _receive_master(console, paths.console_socket)
        outputs = {master: "stdout"}
        stdin_fd = master if plan.open_stdin else None
    pidfd = os.pidfd_open(pid)
    runtime.start(plan.container_id)
    return pid, pidfd, outputs, stdin_fd


def _listen(path: str) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    with unix_path(path) as short:
        sock.bind(short)
    os.chmod(path, 0o600)
    sock.listen(16)
    return sock


def _receive_master(console: socket.socket, path: str) -> int:
    console.settimeout(10)
    try:
        conn, _ = console.accept()
        with conn:
            _, fds, _, _ = socket.recv_fds(conn, 4096, 1)
    finally:
        console.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    if not fds:
        raise HullError("the runtime sent no terminal", 125)
    os.set_blocking(fds[0], True)
    return fds[0]


def _failed(plan: ShimPlan, spec: dict, first: Client, message: str, code: int) -> None:
    """The container could not start: record why, clean up, tell the CLI."""
    from hull.engine.container_teardown import discard, release
    from hull.shim.finish import open_store

    exit_code = code if code in (126, 127) else EXIT_START_FAILED
    with contextlib.suppress(Exception):
        release(plan.runtime, plan.paths)
    removed = False
    with contextlib.suppress(Exception):
        store = open_store(spec)

        def failed(c):  # type: ignore[no-untyped-def]
            c.state.update(Running=False, Pid=0, ExitCode=exit_code, Error=message)
            c.hull["ShimPid"] = 0

        store.update(plan.container_id, failed)
        if plan.auto_remove:
            discard(store, plan.paths, plan.snapshotter)
            removed = True
    first.send(proto.json_frame(proto.ERROR, {
        "message": message, "exit_code": code if code in (126, 127) else 125,
        "removed": removed}))
    with contextlib.suppress(OSError):
        first.sock.close()
