"""What a shim needs to know to run one container, decided by the engine before the fork."""

from __future__ import annotations

from dataclasses import dataclass

from hull.engine.container_paths import ContainerPaths


@dataclass(frozen=True)
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

    @classmethod
    def from_spec(cls, spec: dict) -> ShimPlan:
        return cls(container_id=spec["id"],
                   paths=ContainerPaths(spec["root"], spec["run_root"], spec["id"]),
                   db_path=spec["db_path"], snapshotter=spec["snapshotter"],
                   runtime=spec["runtime"], tty=spec["tty"], open_stdin=spec["open_stdin"],
                   stdin_once=spec["stdin_once"], auto_remove=spec["auto_remove"])

    def spec(self) -> dict:
        """Plain values only: the lean monitor receives them across an exec."""
        p = self.paths
        return {"id": self.container_id, "root": p.root, "run_root": p.run_root,
                "bundle": p.bundle, "dir": p.dir, "db_path": self.db_path,
                "snapshotter": self.snapshotter, "runtime": self.runtime, "tty": self.tty,
                "open_stdin": self.open_stdin, "stdin_once": self.stdin_once,
                "auto_remove": self.auto_remove}
