"""Snapshotters: layered directory trees for images and containers.

:func:`open_snapshotter` picks the backend for an engine root and keeps it:
once a root has snapshots of one kind, opening it with the other would strand
them, so the choice is recorded in the ``settings`` table.
"""

from __future__ import annotations

import os

from hull.errors import Conflict, EngineError, InvalidArgument
from hull.snapshot.base import Mount, SnapshotInfo, Snapshotter

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from hull.state.db import Database

__all__ = ["BACKENDS", "Mount", "SnapshotInfo", "Snapshotter", "open_snapshotter"]

BACKENDS = ("overlay", "native")
SETTING = "snapshotter"


def open_snapshotter(root: str, db: Database, name: str = "") -> Snapshotter:
    """The snapshotter of the engine root ``root``.

    ``name`` "" uses the root's recorded backend, or for a new root overlay
    when the kernel has it and a test mount under ``<root>/snapshots`` works,
    else native.  An explicit ``name`` must match what the root already uses.
    """
    if name and name not in BACKENDS:
        raise InvalidArgument(f"unknown snapshotter {name!r}: choose one of {', '.join(BACKENDS)}")
    recorded = _recorded(db)
    if recorded is None:
        chosen = name or _choose(root)
        if chosen == "overlay" and name:
            _require_overlay(root)
        with db.transaction():
            recorded = _recorded(db)
            if recorded is None:
                db.execute("INSERT INTO settings(name, value) VALUES (?, ?)", (SETTING, chosen))
                recorded = chosen
    if name and name != recorded:
        raise Conflict(f"the root {root} uses the {recorded} snapshotter; "
                       f"it cannot be opened with {name}")
    if recorded == "overlay":
        from hull.snapshot.overlay import OverlaySnapshotter

        return OverlaySnapshotter(root, db)
    if recorded == "native":
        from hull.snapshot.native import NativeSnapshotter

        return NativeSnapshotter(root, db)
    raise EngineError(f"the root {root} records an unknown snapshotter {recorded!r}")


def _recorded(db: Database) -> str | None:
    row = db.query_one("SELECT value FROM settings WHERE name = ?", (SETTING,))
    return row[0] if row else None


def _snapshots_dir(root: str) -> str:
    return os.path.join(os.path.abspath(root), "snapshots")


def _choose(root: str) -> str:
    from hull.snapshot.detect import overlay_unsupported

    return "native" if overlay_unsupported(_snapshots_dir(root)) else "overlay"


def _require_overlay(root: str) -> None:
    from hull.snapshot.detect import overlay_unsupported

    reason = overlay_unsupported(_snapshots_dir(root))
    if reason:
        raise EngineError(f"the overlay snapshotter cannot be used under {root}: {reason}")
