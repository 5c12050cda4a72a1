"""What a shim needs to know to run one container, decided by the engine before the fork."""

from __future__ import annotations

from hull.engine.container_paths import ContainerPaths
from hull.record import record


@record(frozen=True)
class ShimPlan:
    container_id: str
    paths: ContainerPaths
    db_path: str
    snapshotter: str          # backend name, for removing the writable layer on --rm
    runtime: str              # "builtin", "runc" or "crun"
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    auto_remove: bool = False
    log_driver: str = "json-file"   # or "none"
    log_max_size: int = 0           # bytes; 0: one file that grows
    log_max_file: int = 1
    restart_policy: str = "no"      # no, always, unless-stopped, on-failure
    restart_max: int = 0            # on-failure:N
    restart_count: int = 0          # restarts done before this start (inspect's RestartCount)
    health: dict | None = None      # Docker's HealthConfig with durations in nanoseconds

    @classmethod
    def from_spec(cls, spec: dict) -> ShimPlan:
        return cls(container_id=spec["id"],
                   paths=ContainerPaths(spec["root"], spec["run_root"], spec["id"]),
                   db_path=spec["db_path"], snapshotter=spec["snapshotter"],
                   runtime=spec["runtime"], tty=spec["tty"], open_stdin=spec["open_stdin"],
                   stdin_once=spec["stdin_once"], auto_remove=spec["auto_remove"],
                   log_driver=spec.get("log_driver", "json-file"),
                   log_max_size=spec.get("log_max_size", 0),
                   log_max_file=spec.get("log_max_file", 1),
                   restart_policy=spec.get("restart_policy", "no"),
                   restart_max=spec.get("restart_max", 0),
                   restart_count=spec.get("restart_count", 0), health=spec.get("health"))

    def spec(self) -> dict:
        """Plain values only: the lean monitor receives them across an exec."""
        p = self.paths
        return {"id": self.container_id, "root": p.root, "run_root": p.run_root,
                "bundle": p.bundle, "dir": p.dir, "db_path": self.db_path,
                "snapshotter": self.snapshotter, "runtime": self.runtime, "tty": self.tty,
                "open_stdin": self.open_stdin, "stdin_once": self.stdin_once,
                "auto_remove": self.auto_remove, "log_driver": self.log_driver,
                "log_max_size": self.log_max_size, "log_max_file": self.log_max_file,
                "restart_policy": self.restart_policy, "restart_max": self.restart_max,
                "restart_count": self.restart_count, "health": self.health}
