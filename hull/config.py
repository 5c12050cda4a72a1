"""Where the engine keeps its data: the root and run-root, from flags or environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_ROOT = "/var/lib/hull"
DEFAULT_RUN_ROOT = "/run/hull"


@dataclass(frozen=True)
class Settings:
    """Global options shared by every command."""

    root: str = DEFAULT_ROOT
    run_root: str = DEFAULT_RUN_ROOT
    snapshotter: str = ""  # "" = choose automatically
    debug: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "root": os.environ.get("HULL_ROOT") or DEFAULT_ROOT,
            "run_root": os.environ.get("HULL_RUN_ROOT") or DEFAULT_RUN_ROOT,
            "snapshotter": os.environ.get("HULL_SNAPSHOTTER", ""),
        }
        values.update({k: v for k, v in overrides.items() if v not in (None, "")})
        values["root"] = os.path.abspath(str(values["root"]))
        values["run_root"] = os.path.abspath(str(values["run_root"]))
        return cls(**values)  # type: ignore[arg-type]
