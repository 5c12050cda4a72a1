"""Filesystems of build steps: a writable snapshot per step, read-only views of stages.

A step that changes files (RUN, COPY, ADD, WORKDIR) gets an active snapshot on top of
its parent's layers, mounted on a private directory.  When it succeeds, the snapshot's
changes are written as an uncompressed layer tar into the content store (its digest is
the diff id) and the snapshot itself becomes the layer, so nothing is unpacked again.
A step whose changes are empty adds no layer (BuildKit's rule; the history entry is then
marked ``empty_layer``).  A failed step's snapshot is removed.

Snapshot keys start with ``build-<pid>-`` so that :func:`remove_stale` can clear what a
killed build left behind.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from hull.image.model import LayerRecord
from hull.oci import mediatypes as mt
from hull.pids import pid_alive

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from hull.content.store import BlobStore
    from hull.image.store import ImageStore
    from hull.snapshot.base import Snapshotter
    from hull.state.db import Database

KEY_PREFIX = "build-"


def _new_key(kind: str) -> str:
    return f"{KEY_PREFIX}{os.getpid()}-{kind}-{os.urandom(6).hex()}"


def _private_dir(parent: str, prefix: str) -> str:
    """A new 0700 directory below ``parent`` (tempfile.mkdtemp without its imports)."""
    while True:
        path = os.path.join(parent, prefix + os.urandom(6).hex())
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue


class StepFilesystem:
    """The writable root filesystem of one step, mounted at :attr:`rootfs` while open."""

    def __init__(self, images: ImageStore, content: BlobStore, parent_chain: str | None,
                 scratch: str) -> None:
        self.images = images
        self.content = content
        self.snapshotter: Snapshotter = images.snapshotter
        self.parent_chain = parent_chain
        self.scratch = scratch
        self.key = _new_key("step")
        self.rootfs = ""
        self._mounted = False
        self._exists = False

    def open(self) -> str:
        from hull.snapshot.mount import mount_all

        os.makedirs(self.scratch, exist_ok=True)
        mounts = self.snapshotter.prepare(self.key, self.parent_chain)
        self._exists = True
        self.rootfs = _private_dir(self.scratch, "rootfs-")
        mount_all(mounts, self.rootfs)
        self._mounted = True
        return self.rootfs

    def unmount(self) -> None:
        from hull.snapshot.mount import unmount

        if self._mounted:
            unmount(self.rootfs)  # one mount, made here: no need to scan the mount table
            self._mounted = False
        if self.rootfs:
            with contextlib.suppress(OSError):
                os.rmdir(self.rootfs)

    def discard(self) -> None:
        """Forget the step's changes (the step failed or was interrupted)."""
        try:
            self.unmount()
        finally:
            if self._exists:
                self._exists = False
                with contextlib.suppress(Exception):
                    self.snapshotter.remove(self.key)

    def commit(self) -> LayerRecord | None:
        """Make the changes a layer; None (and no layer) when nothing changed."""
        from hull.archive.diff import write_overlay_diff, write_tree_diff

        self.unmount()
        upper = self.snapshotter.writable_dir(self.key)
        writer = self.content.writer()
        size: int | None = None
        try:
            if self.snapshotter.whiteout_format == "overlay":
                write_overlay_diff(upper, writer)  # type: ignore[arg-type]
                size = _upper_content_size(upper)
            else:
                lower = self._parent_tree()
                write_tree_diff(lower, upper, writer)  # type: ignore[arg-type]
            writer.flush()
            if writer.size <= 1024 and writer.digest == _EMPTY_TAR_DIGEST:
                writer.abort()
                self.discard()
                return None
            digest, blob_size = writer.digest, writer.size
            if self.content.has(digest):  # the same layer again: it was synced when stored
                writer.abort()
            else:
                writer.commit(mt.OCI_LAYER)
        except BaseException:
            writer.abort()
            raise
        if size is None:
            size = _unpacked_size(self.content.path(digest))
        chain_id = self.images.commit_layer(self.key, digest, size, blob_size, self.parent_chain)
        self._exists = False
        return LayerRecord(chain_id=chain_id, diff_id=digest, size=size, blob_digest=digest,
                           blob_media_type=mt.OCI_LAYER, blob_size=blob_size)

    def _parent_tree(self) -> str | None:
        if self.parent_chain is None:
            return None
        return self.snapshotter.mounts(self.parent_chain)[0].source

    def __enter__(self) -> StepFilesystem:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


_EMPTY_TAR_DIGEST = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"


def _upper_content_size(upper: str) -> int:
    """Bytes of regular file content in an overlay upperdir, each hardlinked file once.

    The layer tar written from the upperdir holds exactly these files (a hardlink's
    other names as link entries without content), so this is the tar's content size
    without reading the tar back.
    """
    total = 0
    seen: set[tuple[int, int]] = set()
    pending = [upper]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    if st.st_nlink > 1:
                        if (st.st_dev, st.st_ino) in seen:
                            continue
                        seen.add((st.st_dev, st.st_ino))
                    total += st.st_size
    return total


def _unpacked_size(blob: str) -> int:
    """Bytes of regular file content in a layer tar (what ``docker history`` shows)."""
    from hull.archive import tarformat
    from hull.archive.reader import TarReader

    total = 0
    with open(blob, "rb") as f:
        for entry in TarReader(f):
            if entry.type == tarformat.REGULAR:
                total += entry.size
    return total


@contextlib.contextmanager
def mounted_view(snapshotter: Snapshotter, chain: str | None, scratch: str) -> Iterator[str]:
    """The read-only tree of a layer chain mounted on a private directory (empty for none)."""
    from hull.snapshot.mount import mount_all, unmount

    os.makedirs(scratch, exist_ok=True)
    target = _private_dir(scratch, "view-")
    if chain is None:
        try:
            yield target
        finally:
            import shutil

            shutil.rmtree(target, ignore_errors=True)
        return
    key = _new_key("view")
    mounts = snapshotter.view(key, chain)
    try:
        mount_all(mounts, target)
        try:
            yield target
        finally:
            unmount(target)
    finally:
        with contextlib.suppress(Exception):
            snapshotter.remove(key)
        with contextlib.suppress(OSError):
            os.rmdir(target)


def remove_stale(snapshotter: Snapshotter, db: Database | None = None) -> None:
    """Remove the snapshots of builds whose process is gone (killed, machine restarted).

    With ``db``, one query first asks whether any build snapshot is left at all, so the
    usual build does not list every layer of every image.
    """
    if db is not None and db.query_one(
            "SELECT 1 FROM snapshots WHERE key LIKE ? AND kind != 'committed' LIMIT 1",
            (KEY_PREFIX + "%",)) is None:
        return
    for info in snapshotter.walk():
        if info.kind == "committed" or not info.key.startswith(KEY_PREFIX):
            continue
        pid = info.key[len(KEY_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            with contextlib.suppress(Exception):
                snapshotter.remove(info.key)
