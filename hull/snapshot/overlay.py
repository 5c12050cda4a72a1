"""The overlay snapshotter: each snapshot stores only its own changes.

A committed snapshot's ``fs`` directory is one overlay lower layer; an active
snapshot's ``fs`` is the upperdir over its ancestors, so preparing a container
costs two mkdirs and one mount regardless of image size.  Layer tars are
unpacked straight into the upperdir with overlay's own whiteouts (0/0 character
devices, ``trusted.overlay.opaque``), which is why :attr:`whiteout_format` is
"overlay".

Mount records carry absolute paths (any runtime can use them); for deep stacks
:func:`hull.snapshot.mount.mount_all` shortens them to fit overlay's one-page
option limit.  The ids in the paths are short integers to keep that room.
"""

from __future__ import annotations

import os

from hull.errors import InvalidArgument
from hull.snapshot.base import Mount
from hull.snapshot.common import DirectorySnapshotter, Staging
from hull.snapshot.fsutil import remove_tree
from hull.snapshot.metadata import SnapshotRecord
from hull.state.db import Database

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Literal

#: Characters overlay's option parser treats as separators.
OPTION_SEPARATORS = (",", ":")
INDEX_PARAMETER = "/sys/module/overlay/parameters/index"


class OverlaySnapshotter(DirectorySnapshotter):
    """Snapshots as overlayfs layers (containerd's and Docker's default)."""

    name = "overlay"
    whiteout_format: Literal["overlay", "delete"] = "overlay"

    def __init__(self, root: str, db: Database) -> None:
        bad = [c for c in OPTION_SEPARATORS if c in os.path.abspath(root)]
        if bad:
            raise InvalidArgument(
                f"the overlay snapshotter cannot use root {root!r}: overlay options cannot "
                f"hold paths containing {' or '.join(repr(c) for c in bad)}")
        super().__init__(root, db)
        # Inode index off: an upperdir must stay usable over a different set of lowers
        # (containerd does the same); only where the kernel knows the option.
        # Layer diffs are read straight from upperdirs, so the upperdir must hold whole
        # files and real renames: no metadata-only copy-up, no redirects.
        params = os.path.dirname(INDEX_PARAMETER)
        self._extra_options: tuple[str, ...] = tuple(
            option for option, parameter in (("index=off", "index"),
                                             ("redirect_dir=off", "redirect_dir"),
                                             ("metacopy=off", "metacopy"))
            if os.path.exists(os.path.join(params, parameter)))

    def _populate(self, record: SnapshotRecord, staged: Staging | None) -> None:
        os.mkdir(self.fs_dir(record.id))
        os.chmod(self.fs_dir(record.id), 0o755)  # whatever the umask: it is a root dir
        if record.kind == "active" and record.parent is not None:
            os.mkdir(self.work_dir(record.id), 0o711)

    def _committed(self, record: SnapshotRecord) -> None:
        remove_tree(self.work_dir(record.id))

    def _mounts(self, record: SnapshotRecord) -> list[Mount]:
        if record.kind == "active":
            if record.parent is None:
                return [Mount("bind", self.fs_dir(record.id), ("rbind", "rw"))]
            lowers = ":".join(self.fs_dir(i) for i in self.table.chain_ids(record.parent))
            return [Mount("overlay", "overlay", (
                f"lowerdir={lowers}",
                f"upperdir={self.fs_dir(record.id)}",
                f"workdir={self.work_dir(record.id)}",
                *self._extra_options,
            ))]
        top = record.parent if record.kind == "view" else record.key
        assert top is not None
        chain = self.table.chain_ids(top)
        if len(chain) == 1:
            return [Mount("bind", self.fs_dir(chain[0]), ("rbind", "ro"))]
        lowers = ":".join(self.fs_dir(i) for i in chain)
        return [Mount("overlay", "overlay", (f"lowerdir={lowers}", "ro", *self._extra_options))]
