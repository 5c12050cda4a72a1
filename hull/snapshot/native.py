"""The native snapshotter: every active snapshot is a full copy of its parent.

The fallback where overlayfs cannot be used (no kernel support, or a root on a
filesystem overlay refuses as upperdir, such as overlay itself).  Preparing
costs a copy of the parent tree (``cp -a --reflink=auto``, nearly free on
reflink filesystems); committing is only a metadata change, because the
directory already holds the whole tree.  Layer tars are applied by deleting
files (:attr:`whiteout_format` "delete").  All mounts are bind mounts.
"""

from __future__ import annotations

import os
from typing import Literal

from hull.snapshot.base import Mount
from hull.snapshot.common import DirectorySnapshotter, Staging
from hull.snapshot.fsutil import copy_tree
from hull.snapshot.metadata import SnapshotRecord


class NativeSnapshotter(DirectorySnapshotter):
    """Snapshots as complete directory trees."""

    name = "native"
    whiteout_format: Literal["overlay", "delete"] = "delete"

    def _stage(self, parent: SnapshotRecord | None, kind: str) -> Staging | None:
        # Copy outside the database transaction so a large tree does not hold the
        # write lock; a view needs no copy, it binds the (immutable) parent.
        if kind != "active" or parent is None:
            return None
        staging = Staging(self.home)
        try:
            copy_tree(self.fs_dir(parent.id), os.path.join(staging.path, "fs"))
        except BaseException:
            staging.close()
            raise
        return staging

    def _populate(self, record: SnapshotRecord, staged: Staging | None) -> None:
        if staged is not None:
            os.rename(os.path.join(staged.path, "fs"), self.fs_dir(record.id))
        else:
            os.mkdir(self.fs_dir(record.id))
            os.chmod(self.fs_dir(record.id), 0o755)  # whatever the umask: it is a root dir

    def _mounts(self, record: SnapshotRecord) -> list[Mount]:
        if record.kind == "active":
            return [Mount("bind", self.fs_dir(record.id), ("rbind", "rw"))]
        source = self.table.require(record.parent) if record.kind == "view" else record
        return [Mount("bind", self.fs_dir(source.id), ("rbind", "ro"))]
