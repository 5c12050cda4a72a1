"""Whether overlayfs works for snapshots in a given directory.

Kernel support alone is not enough: some filesystems cannot be an upperdir
(overlayfs itself, some tmpfs and network setups), so the check mounts a small
overlay where the snapshots will live and makes the kernel write a whiteout.
"""

from __future__ import annotations

import os
import stat
import tempfile

from hull.errors import EngineError
from hull.snapshot.base import Mount
from hull.snapshot.fsutil import remove_tree
from hull.snapshot.mount import mount_all, unmount


def kernel_has_overlay() -> bool:
    try:
        with open("/proc/filesystems") as f:
            return any(line.split()[-1:] == ["overlay"] for line in f)
    except OSError:
        return False


def overlay_unsupported(directory: str) -> str | None:
    """Why overlay snapshots cannot live under ``directory``; None when they can."""
    if not kernel_has_overlay():
        return "the kernel has no overlay filesystem (/proc/filesystems)"
    directory = os.path.abspath(directory)
    for separator in (",", ":"):
        if separator in directory:
            return (f"the path {directory!r} contains {separator!r}, "
                    "which overlay options cannot hold")
    os.makedirs(directory, mode=0o711, exist_ok=True)
    probe = tempfile.mkdtemp(prefix=".overlay-check-", dir=directory)
    try:
        return _probe(probe)
    finally:
        remove_tree(probe)


def _probe(probe: str) -> str | None:
    lower1, lower2, upper, work, merged = (
        os.path.join(probe, name) for name in ("l1", "l2", "u", "w", "m"))
    for path in (lower1, lower2, upper, work, merged):
        os.mkdir(path)
    with open(os.path.join(lower1, "gone"), "w") as f:
        f.write("lower")
    options = (f"lowerdir={lower2}:{lower1}", f"upperdir={upper}", f"workdir={work}")
    try:
        mount_all([Mount("overlay", "overlay", options)], merged)
    except EngineError as e:
        return str(e)
    try:
        with open(os.path.join(merged, "new"), "w") as f:
            f.write("upper")
        os.unlink(os.path.join(merged, "gone"))
        if os.path.lexists(os.path.join(merged, "gone")):
            return "deleting a lower file through overlay did not hide it"
    except OSError as e:
        return f"writing through a test overlay failed: {e.strerror}"
    finally:
        unmount(merged, detach=True)
    whiteout = os.lstat(os.path.join(upper, "gone"))
    if not (stat.S_ISCHR(whiteout.st_mode) and whiteout.st_rdev == 0):
        return "the kernel did not write an overlay whiteout"
    return None
