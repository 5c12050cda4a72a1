"""Where the engine keeps its data: the root and run-root, from flags or environment."""

from __future__ import annotations

import os

DEFAULT_ROOT = "/var/lib/hull"
DEFAULT_RUN_ROOT = "/run/hull"


class Settings:
    """Global options shared by every command (immutable once made).

    A plain class rather than a dataclass: every command makes one, and generating a
    dataclass's methods at import time costs more than the command's option parsing.
    """

    __slots__ = ("debug", "root", "run_root", "snapshotter")

    root: str
    run_root: str
    snapshotter: str  # "" = choose automatically
    debug: bool

    def __init__(self, root: str = DEFAULT_ROOT, run_root: str = DEFAULT_RUN_ROOT,
                 snapshotter: str = "", debug: bool = False) -> None:
        for name, value in (("root", root), ("run_root", run_root),
                            ("snapshotter", snapshotter), ("debug", debug)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Settings are read-only: cannot set {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return (f"Settings(root={self.root!r}, run_root={self.run_root!r},"
                f" snapshotter={self.snapshotter!r}, debug={self.debug!r})")

    def _values(self) -> tuple[object, ...]:
        return (self.root, self.run_root, self.snapshotter, self.debug)

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
