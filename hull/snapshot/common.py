"""What both backends share: directory layout, metadata steps and crash cleanup.

Layout under ``<root>/snapshots/<backend>/``::

    <id>/fs        the snapshot's tree (overlay: its own changes; native: a full tree)
    <id>/work      overlay's workdir, only while the snapshot is active on a parent
    tmp-<random>/  a native copy in progress (guarded by a shared flock on the backend dir)
    trash-<...>/   directories on their way out

Ordering rules that keep a crash repairable by :meth:`cleanup`: a snapshot's
directory is created inside the transaction that inserts its row, and removed
only after the transaction that deletes the row has committed (when that is a
caller's transaction, the removal waits for it to end: see ``_settle``).  So after any
crash the only inconsistency is a directory without a row, which ``cleanup``
deletes; ids are never reused, so such a directory never belongs to anyone.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from hull.errors import Conflict, InvalidArgument, NotFound
from hull.snapshot.base import Mount, SnapshotInfo, Snapshotter
from hull.snapshot.fsutil import remove_tree, tree_usage
from hull.snapshot.metadata import SnapshotRecord, SnapshotTable, check_key
from hull.state.db import Database

STAGING_PREFIX = "tmp-"
TRASH_PREFIX = "trash-"


class Staging:
    """A private directory where a snapshot's tree is built before it gets an id.

    Holds a shared lock on the backend directory while it exists, so
    :meth:`DirectorySnapshotter.cleanup` (which takes the lock exclusively)
    never deletes a copy that is still being made.
    """

    def __init__(self, home: str) -> None:
        self._lock = os.open(home, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_SH)
            import tempfile

            self.path = tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=home)
        except BaseException:
            os.close(self._lock)
            raise

    def close(self) -> None:
        try:
            remove_tree(self.path)
        finally:
            os.close(self._lock)


def _settle_at_exit(ref: weakref.ref[DirectorySnapshotter]) -> None:
    """Finish deferred directory work when the process ends normally."""
    snapshotter = ref()
    if snapshotter is None or not (snapshotter._removed_ids or snapshotter._committed_ids):
        return
    with suppress(Exception):
        try:
            snapshotter._settle()
        except sqlite3.ProgrammingError:  # its owner closed the database first
            db = Database(snapshotter.db.path)
            try:
                snapshotter._settle(SnapshotTable(db, snapshotter.name))
            finally:
                db.close()


class DirectorySnapshotter(Snapshotter):
    """A snapshotter whose snapshots are numbered directories described by SQLite rows.

    Subclasses decide what goes in a new snapshot's directory (:meth:`_stage`,
    :meth:`_populate`) and how it is mounted (:meth:`_mounts`).
    """

    name: str

    def __init__(self, root: str, db: Database) -> None:
        self.root = os.path.abspath(root)
        self.db = db
        self.home = os.path.join(self.root, "snapshots", self.name)
        os.makedirs(self.home, mode=0o711, exist_ok=True)
        self.table = SnapshotTable(db, self.name)
        # Directory work postponed until a caller's transaction is over (see _settle).
        self._removed_ids: list[int] = []
        self._committed_ids: list[int] = []
        self._settle_registered = False

    # -- layout ------------------------------------------------------------------------

    def snapshot_dir(self, snapshot_id: int) -> str:
        return os.path.join(self.home, str(snapshot_id))

    def fs_dir(self, snapshot_id: int) -> str:
        return os.path.join(self.home, str(snapshot_id), "fs")

    def work_dir(self, snapshot_id: int) -> str:
        return os.path.join(self.home, str(snapshot_id), "work")

    # -- hooks -------------------------------------------------------------------------

    def _stage(self, parent: SnapshotRecord | None, kind: str) -> Staging | None:
        """Slow preparation done before the transaction (e.g. copying the parent)."""
        return None

    def _populate(self, record: SnapshotRecord, staged: Staging | None) -> None:
        """Fill the freshly created ``snapshot_dir(record.id)``; runs inside the transaction."""
        raise NotImplementedError

    def _mounts(self, record: SnapshotRecord) -> list[Mount]:
        raise NotImplementedError

    def _committed(self, record: SnapshotRecord) -> None:
        """Tidy the directory of a snapshot that has just been committed."""

    # -- Snapshotter -------------------------------------------------------------------

    def prepare(self, key: str, parent: str | None = None) -> list[Mount]:
        self._settle()
        return self._create(key, parent, "active")

    def view(self, key: str, parent: str) -> list[Mount]:
        self._settle()
        if parent is None:
            raise InvalidArgument(f"view {key!r} needs a parent snapshot")
        return self._create(key, parent, "view")

    def _create(self, key: str, parent: str | None, kind: str) -> list[Mount]:
        check_key(key)
        self._refuse_existing(key)
        parent_record = self._committed_parent(parent) if parent is not None else None
        staged = self._stage(parent_record, kind)
        try:
            with self.db.transaction():
                self._refuse_existing(key)
                if parent is not None:
                    self._committed_parent(parent)
                snapshot_id = self._claim_directory()
                try:
                    record = self.table.insert(key, snapshot_id, parent, kind)
                    self._populate(record, staged)
                except BaseException:
                    remove_tree(self.snapshot_dir(snapshot_id))
                    raise
        finally:
            if staged is not None:
                staged.close()
        return self._mounts(record)

    def _refuse_existing(self, key: str) -> None:
        if self.table.any_backend_has(key):
            raise Conflict(f"snapshot {key!r} already exists")

    def _committed_parent(self, parent: str) -> SnapshotRecord:
        check_key(parent)
        record = self.table.get(parent)
        if record is None:
            raise NotFound(f"parent snapshot {parent!r} does not exist")
        if record.kind != "committed":
            raise InvalidArgument(f"parent snapshot {parent!r} is {record.kind}, not committed")
        return record

    def _claim_directory(self) -> int:
        """Allocate an id and create its directory (inside the caller's transaction).

        A directory that already exists is a leftover of a crashed transaction
        whose id allocation was rolled back: skip it and leave it to cleanup.
        """
        while True:
            snapshot_id = self.table.next_id()
            try:
                os.mkdir(self.snapshot_dir(snapshot_id), 0o711)
            except FileExistsError:
                continue
            return snapshot_id

    def mounts(self, key: str) -> list[Mount]:
        """The mounts of ``key``; a committed snapshot gives read-only mounts of itself."""
        check_key(key)
        return self._mounts(self.table.require(key))

    def commit(self, name: str, key: str) -> None:
        """Commit ``key`` as ``name``.

        Inside a caller's transaction the tidying of the directory waits until
        that transaction is over, because a rollback makes the snapshot active again.
        """
        check_key(name)
        check_key(key)
        self._settle()
        outer = self.db.conn.in_transaction
        with self.db.transaction():
            record = self.table.require(key)
            if record.kind != "active":
                raise InvalidArgument(
                    f"snapshot {key!r} is {record.kind}; only active snapshots can be committed")
            if self.table.any_backend_has(name):
                raise Conflict(f"snapshot {name!r} already exists")
            self.table.mark_committed(key, name)
        if outer:
            self._defer(self._committed_ids, record.id)
        else:
            self._committed(record)

    def remove(self, key: str) -> None:
        """Remove ``key`` and its directory.

        Inside a caller's transaction only the row goes at once: the directory
        must outlive a possible rollback.  It is deleted by the next call on this
        snapshotter made outside a transaction, at interpreter exit, or by
        :meth:`cleanup` after a crash.
        """
        check_key(key)
        self._settle()
        outer = self.db.conn.in_transaction
        with self.db.transaction():
            record = self.table.require(key)
            children = self.table.children(key)
            if children:
                raise Conflict(f"snapshot {key!r} has children: {', '.join(children)}")
            self.table.delete(key)
        if outer:
            self._defer(self._removed_ids, record.id)
        else:
            remove_tree(self.snapshot_dir(record.id))

    def stat(self, key: str) -> SnapshotInfo | None:
        record = self.table.get(key)
        return record.info() if record else None

    def writable_dir(self, key: str) -> str:
        check_key(key)
        record = self.table.require(key)
        if record.kind != "active":
            raise InvalidArgument(f"snapshot {key!r} is {record.kind}, not active")
        return self.fs_dir(record.id)

    def usage(self, key: str) -> int:
        self._settle()
        check_key(key)
        return tree_usage(self.fs_dir(self.table.require(key).id))

    def walk(self) -> list[SnapshotInfo]:
        self._settle()
        return [record.info() for record in self.table.all()]

    def cleanup(self) -> list[str]:
        """Delete directories no snapshot row owns (leftovers of crashes); return their paths.

        Safe while other processes use the snapshotter: orphans are chosen and
        moved aside inside a write transaction, and copies in progress are kept.
        """
        self._settle()
        doomed: list[str] = []
        with self.db.transaction():
            records = {record.id: record for record in self.table.all()}
            for name in os.listdir(self.home):
                path = os.path.join(self.home, name)
                if name.isdigit() and int(name) not in records:
                    doomed.append(path)
                    os.rename(path, self._trash_name(name))
                elif name.isdigit() and records[int(name)].kind == "committed":
                    work = os.path.join(path, "work")
                    if os.path.lexists(work):
                        doomed.append(work)
                        os.rename(work, self._trash_name(f"{name}-work"))
        with self._exclusive() as idle:
            for name in os.listdir(self.home):
                path = os.path.join(self.home, name)
                if name.startswith(TRASH_PREFIX):
                    remove_tree(path)
                elif name.startswith(STAGING_PREFIX) and idle:
                    doomed.append(path)
                    remove_tree(path)
        return doomed

    def _defer(self, pending: list[int], snapshot_id: int) -> None:
        pending.append(snapshot_id)
        if not self._settle_registered:
            self._settle_registered = True
            atexit.register(_settle_at_exit, weakref.ref(self))

    def _settle(self, table: SnapshotTable | None = None) -> None:
        """Finish directory work that waited for a caller's transaction to end.

        Whether it committed or rolled back shows in the rows: ids are never
        reused, so a removed id without a row is gone for good.
        """
        table = table or self.table
        if not (self._removed_ids or self._committed_ids) or table.db.conn.in_transaction:
            return
        rows = {record.id: record for record in table.all()}
        removed, self._removed_ids = self._removed_ids, []
        committed, self._committed_ids = self._committed_ids, []
        for snapshot_id in removed:
            if snapshot_id not in rows:
                remove_tree(self.snapshot_dir(snapshot_id))
        for snapshot_id in committed:
            record = rows.get(snapshot_id)
            if record is not None and record.kind == "committed":
                self._committed(record)

    def _trash_name(self, name: str) -> str:
        return os.path.join(self.home, f"{TRASH_PREFIX}{name}-{os.urandom(4).hex()}")

    @contextmanager
    def _exclusive(self) -> Iterator[bool]:
        """Try to lock the backend directory exclusively; yields whether no copy is running."""
        fd = os.open(self.home, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
            else:
                yield True
        finally:
            with suppress(OSError):
                os.close(fd)
