"""Restart policies in the shim: decide, wait the back-off, start the container again.

Imported only when a container with a policy exits, so a waiting shim pays nothing for it.
The back-off follows Docker: 100 ms, doubling after each restart up to a minute, back to
100 ms once a run lasted 10 seconds.  The container's mounts, network namespace and bundle
stay in place between runs; only the runtime's container (and its cgroup) is made anew.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hull.shim.monitor import Monitor

FIRST_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER = 10.0


def should_restart(spec: dict, code: int, stop_requested: bool) -> bool:
    policy = spec.get("restart_policy") or "no"
    if stop_requested or policy == "no" or spec.get("auto_remove"):
        return False
    if policy in ("always", "unless-stopped"):
        return True
    if policy == "on-failure":
        limit = int(spec.get("restart_max") or 0)
        return code != 0 and (limit == 0 or int(spec.get("restart_count") or 0) < limit)
    return False


def next_delay(spec: dict, ran_for: float) -> float:
    """The back-off before this restart; remembers it in ``spec`` for the next one."""
    previous = float(spec.get("restart_delay") or 0)
    delay = FIRST_DELAY if ran_for >= RESET_AFTER or not previous else \
        min(previous * 2, MAX_DELAY)
    spec["restart_delay"] = delay
    return delay


def restart(monitor: Monitor, ran_for: float) -> bool:
    """Record the exit, wait the back-off, start again.  False: stopped meanwhile, or the
    new start failed (then the exit is recorded with the error)."""
    from hull.engine.container_model import RESTARTING, RUNNING, rfc3339_nano
    from hull.runtime import get_runtime
    from hull.shim.finish import open_store
    from hull.shim.plan import ShimPlan
    from hull.shim.starter import spawn

    spec = monitor.spec
    code = monitor.status if monitor.status is not None else 255
    for stream in list(monitor.log.pending):
        monitor.log.flush(stream)
    store = open_store(spec)

    def restarting(c):  # type: ignore[no-untyped-def]
        c.state.update(Status=RESTARTING, Running=True, Restarting=True, Paused=False, Pid=0,
                       ExitCode=code, FinishedAt=rfc3339_nano())

    store.update(spec["id"], restarting)
    monitor.end_clients({"ExitCode": code, "OOMKilled": False, "Removed": False})
    plan = ShimPlan.from_spec(spec)
    runtime = get_runtime(plan.runtime, plan.paths.runtime_root)
    with contextlib.suppress(Exception):
        runtime.delete(spec["id"], force=True)
    if not monitor.pause_for(next_delay(spec, ran_for)):
        store.db.close()
        return False
    try:
        pid, pidfd, outputs, stdin_fd = spawn(plan, runtime)
    except Exception as e:  # recorded for inspect; the shim then finishes
        message = str(e)
        store.update(spec["id"], lambda c: c.state.update(Error=message))
        store.db.close()
        return False
    spec["restart_count"] = int(spec.get("restart_count") or 0) + 1

    def started(c):  # type: ignore[no-untyped-def]
        c.state.update(Status=RUNNING, Running=True, Restarting=False, Paused=False,
                       OOMKilled=False, Pid=pid, Error="", StartedAt=rfc3339_nano())
        c.data["RestartCount"] = spec["restart_count"]
        if spec.get("health"):
            c.state["Health"] = {"Status": "starting", "FailingStreak": 0, "Log": []}
        else:
            c.state.pop("Health", None)

    store.update(spec["id"], started)
    store.db.close()
    monitor.adopt(pid, pidfd, outputs, stdin_fd)
    return True

