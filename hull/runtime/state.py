"""On-disk state of builtin containers: <state_root>/builtin/<id>/{state.json,exec.fifo}.

state.json is written once, atomically, when create succeeds.  Status is not stored: it is
derived each time from the live system (init alive? exec.fifo still there? cgroup frozen?),
so it is right even after the caller crashed.
"""

from __future__ import annotations

import json
import os

from hull.errors import NotFound
from hull.record import asdict, field, record

STATE_FILE = "state.json"
EXEC_FIFO = "exec.fifo"


@record
class ContainerState:
    id: str
    pid: int
    pid_start: int
    bundle: str
    cgroups_path: str
    cgroup_dirs: dict
    created: float
    annotations: dict = field(default_factory=dict)
    seccomp: dict | None = None  # the container's profile, applied to exec'd processes too
    capabilities: dict | None = None  # default for exec'd processes that give none

    def save(self, directory: str) -> None:
        tmp = os.path.join(directory, STATE_FILE + ".tmp")
        with open(tmp, "w") as f:
            json.dump(asdict(self), f)
        os.rename(tmp, os.path.join(directory, STATE_FILE))

    @classmethod
    def load(cls, directory: str, container_id: str) -> ContainerState:
        try:
            with open(os.path.join(directory, STATE_FILE)) as f:
                return cls(**json.load(f))
        except FileNotFoundError:
            raise NotFound(f"container {container_id} does not exist") from None


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of ``pid``, or None if there is no such pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[19])


def alive(pid: int, start: int) -> bool:
    """Is this still our process (not a recycled pid) and not yet a zombie?"""
    st = proc_stat(pid)
    return st is not None and st[1] == start and st[0] not in ("Z", "X")
