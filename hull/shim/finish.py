"""The end of a container run, in the shim: record the exit and free the host resources.

Imported only when the container has exited, so a waiting shim never loads the database,
runtime or snapshot code.
"""

from __future__ import annotations

from hull.engine.container_paths import ContainerPaths
from hull.errors import HullError


def paths_of(spec: dict) -> ContainerPaths:
    return ContainerPaths(spec["root"], spec["run_root"], spec["id"])


def open_store(spec: dict):  # type: ignore[no-untyped-def]
    from hull.engine.container_store import ContainerStore
    from hull.state.db import Database

    return ContainerStore(Database(spec["db_path"]))


def finish_container(spec: dict, code: int) -> dict:
    """Exit code ``code`` happened: record it, release, remove with --rm.

    Returns {"OOMKilled", "Removed"} for the clients' EXIT frame.
    """
    from hull.engine.container_model import EXITED, rfc3339_nano
    from hull.engine.container_teardown import discard, oom_killed, release

    paths = paths_of(spec)
    oom = oom_killed(spec["runtime"], paths)
    release(spec["runtime"], paths)
    finished = rfc3339_nano()

    def exited(c):  # type: ignore[no-untyped-def]
        c.state.update(Status=EXITED, Running=False, Paused=False, Restarting=False, Pid=0,
                       ExitCode=code,
                       OOMKilled=oom, FinishedAt=finished)
        c.hull["ShimPid"] = 0

    removed = False
    try:
        store = open_store(spec)
        store.update(spec["id"], exited)
        if spec["auto_remove"]:
            discard(store, paths, spec["snapshotter"])
            removed = True
    except HullError:
        pass
    return {"OOMKilled": oom, "Removed": removed}
