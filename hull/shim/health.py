"""Health checks, run by the shim: a probe process exec'd into the container every interval.

The lean shim only keeps the schedule.  Each probe runs in a child forked from the shim, so
the runtime and database code it needs are loaded there and never grow the shim: the child
execs the check in the container (through the runtime, like ``hull exec``), waits for it
with the timeout, and records the result in ``State.Health`` (Status, FailingStreak and the
last five results), as Docker does.
"""

from __future__ import annotations

import os
import time

SECOND = 1_000_000_000
KEEP_RESULTS = 5
MAX_OUTPUT = 4096


class HealthSchedule:
    """When the next probe is due and which probe child is running."""

    def __init__(self, config: dict, started_at: float) -> None:
        self.config = config
        self.started_at = started_at
        self.next_due = started_at + config["interval"] / SECOND
        self.probe_pid = 0
        self.probe_fd = -1

    def due_in(self, now: float) -> float | None:
        """Seconds until the next probe (None while one runs)."""
        if self.probe_pid:
            return None
        return max(self.next_due - now, 0.0)

    def launch(self, spec: dict) -> int:
        """Fork the probe child; returns a pidfd that becomes readable when it is done."""
        in_start_period = (time.monotonic() - self.started_at) * SECOND < \
            self.config["start_period"]
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                probe(spec, self.config, in_start_period)
            except BaseException:
                code = 1
                from hull.shim.monitor import log_crash

                log_crash(spec.get("dir", ""))
            finally:
                os._exit(code)
        self.probe_pid = pid
        self.probe_fd = os.pidfd_open(pid)
        return self.probe_fd

    def cancel(self) -> None:
        """The container stopped: no probe may outlive it."""
        if self.probe_pid:
            try:
                os.kill(self.probe_pid, 9)
            except ProcessLookupError:
                pass
            self.done()

    def done(self) -> None:
        try:
            os.waitpid(self.probe_pid, 0)
        except ChildProcessError:
            pass
        os.close(self.probe_fd)
        self.probe_pid, self.probe_fd = 0, -1
        self.next_due = time.monotonic() + self.config["interval"] / SECOND


def probe(spec: dict, config: dict, in_start_period: bool) -> None:
    """In the probe child: run the check once and record it."""
    from hull.engine.container_model import rfc3339_nano

    start = rfc3339_nano()
    code, output = _run_check(spec, config)
    result = {"Start": start, "End": rfc3339_nano(), "ExitCode": code, "Output": output}
    record(spec, config, result, in_start_period)


def _run_check(spec: dict, config: dict) -> tuple[int, str]:
    import json
    import select

    from hull.errors import HullError
    from hull.runtime import Stdio, get_runtime

    with open(os.path.join(spec["bundle"], "config.json")) as f:
        process = dict(json.load(f)["process"])
    process.pop("consoleSize", None)
    process.update(args=list(config["args"]), terminal=False)
    runtime = get_runtime(spec["runtime"], os.path.join(spec["run_root"], "runtime"))
    if runtime.name != "builtin":
        from hull.runtime import syscalls as sc

        sc.prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: runc's exec'd process becomes ours
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    try:
        pid = runtime.exec(spec["id"], process, Stdio(null, write_end, write_end))
    except HullError as e:
        os.close(read_end)
        return 1, str(e)
    finally:
        os.close(write_end)
        os.close(null)
    pidfd = os.pidfd_open(pid)
    deadline = time.monotonic() + config["timeout"] / SECOND
    output = b""
    open_fds = [read_end, pidfd]
    exited = False
    while not exited:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            os.close(read_end)
            os.close(pidfd)
            seconds = config["timeout"] / SECOND
            return -1, f"Health check exceeded timeout ({seconds:g}s)"
        ready, _, _ = select.select(open_fds, [], [], left)
        if read_end in ready:
            chunk = os.read(read_end, 65536)
            if chunk:
                output = (output + chunk)[:MAX_OUTPUT]
            else:
                open_fds.remove(read_end)
        if pidfd in ready:
            exited = True
    _, status = os.waitpid(pid, 0)
    if read_end in open_fds:  # what is left in the pipe (descendants may still hold it)
        import fcntl

        fcntl.fcntl(read_end, fcntl.F_SETFL, os.O_NONBLOCK)
        try:
            output = (output + os.read(read_end, MAX_OUTPUT))[:MAX_OUTPUT]
        except BlockingIOError:
            pass
    os.close(read_end)
    os.close(pidfd)
    code = os.waitstatus_to_exitcode(status)
    return (128 - code if code < 0 else code), output.decode("utf-8", errors="replace")


def record(spec: dict, config: dict, result: dict, in_start_period: bool) -> None:
    from hull.shim.finish import open_store

    store = open_store(spec)

    def update(c):  # type: ignore[no-untyped-def]
        if not c.state.get("Running"):
            return
        health = dict(c.state.get("Health") or {"Status": "starting", "FailingStreak": 0,
                                                 "Log": []})
        log = [*(health.get("Log") or []), result]
        health["Log"] = log[-KEEP_RESULTS:]
        if result["ExitCode"] == 0:
            health["Status"] = "healthy"
            health["FailingStreak"] = 0
        elif not in_start_period:
            streak = int(health.get("FailingStreak") or 0) + 1
            health["FailingStreak"] = streak
            if streak >= config["retries"]:
                health["Status"] = "unhealthy"
        c.state["Health"] = health

    try:
        store.update(spec["id"], update)
    finally:
        store.db.close()

