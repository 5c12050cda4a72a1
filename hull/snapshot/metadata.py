"""Snapshot rows in the engine database (table ``snapshots``).

Every backend keeps the same facts: a user-chosen key, a short integer id that
names the snapshot's directory, the parent key, the kind and the backend.  Ids
come from a counter in the ``settings`` table that only grows, bumped inside
the caller's write transaction, so concurrent processes never get the same id
and an id whose directory is being deleted is never handed out again.
"""

from __future__ import annotations

import time

from hull.errors import InvalidArgument, NotFound
from hull.record import record
from hull.snapshot.base import SnapshotInfo
from hull.state.db import Database

LAST_ID_SETTING = "snapshot_last_id"


@record(frozen=True)
class SnapshotRecord:
    """One row of ``snapshots``."""

    key: str
    id: int
    parent: str | None
    kind: str
    backend: str
    created_at: float

    def info(self) -> SnapshotInfo:
        return SnapshotInfo(key=self.key, parent=self.parent, kind=self.kind,  # type: ignore[arg-type]
                            backend=self.backend)


def check_key(key: str) -> None:
    """Keys are free-form, but must be usable as one line of text."""
    if not isinstance(key, str) or not key or any(c in key for c in "\0\n"):
        raise InvalidArgument(f"invalid snapshot key {key!r}")


class SnapshotTable:
    """Reads and writes the rows of one backend."""

    def __init__(self, db: Database, backend: str) -> None:
        self.db = db
        self.backend = backend

    def get(self, key: str) -> SnapshotRecord | None:
        row = self.db.query_one(
            "SELECT key, id, parent, kind, backend, created_at FROM snapshots "
            "WHERE key = ? AND backend = ?", (key, self.backend))
        return SnapshotRecord(*row) if row else None

    def require(self, key: str) -> SnapshotRecord:
        record = self.get(key)
        if record is None:
            raise NotFound(f"snapshot {key!r} does not exist")
        return record

    def any_backend_has(self, key: str) -> bool:
        return self.db.query_one("SELECT 1 FROM snapshots WHERE key = ?", (key,)) is not None

    def all(self) -> list[SnapshotRecord]:
        rows = self.db.query(
            "SELECT key, id, parent, kind, backend, created_at FROM snapshots "
            "WHERE backend = ? ORDER BY id", (self.backend,))
        return [SnapshotRecord(*row) for row in rows]

    def ids(self) -> set[int]:
        rows = self.db.query("SELECT id FROM snapshots WHERE backend = ?", (self.backend,))
        return {row[0] for row in rows}

    def children(self, key: str) -> list[str]:
        rows = self.db.query("SELECT key FROM snapshots WHERE parent = ? ORDER BY key", (key,))
        return [row[0] for row in rows]

    def chain_ids(self, key: str) -> list[int]:
        """Ids of ``key`` and all its ancestors, nearest first."""
        rows = self.db.query(
            """
            WITH RECURSIVE chain(key, id, parent, depth) AS (
                SELECT key, id, parent, 0 FROM snapshots WHERE key = ?
                UNION ALL
                SELECT s.key, s.id, s.parent, c.depth + 1
                FROM snapshots s JOIN chain c ON s.key = c.parent
            )
            SELECT id FROM chain ORDER BY depth
            """, (key,))
        return [row[0] for row in rows]

    def next_id(self) -> int:
        """Allocate an id; call inside a write transaction."""
        row = self.db.query_one("SELECT value FROM settings WHERE name = ?", (LAST_ID_SETTING,))
        last = int(row[0]) if row else 0
        highest = self.db.query_one("SELECT COALESCE(MAX(id), 0) FROM snapshots")[0]
        new_id = max(last, highest) + 1
        self.db.execute(
            "INSERT INTO settings(name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (LAST_ID_SETTING, str(new_id)))
        return new_id

    def insert(self, key: str, snapshot_id: int, parent: str | None, kind: str) -> SnapshotRecord:
        record = SnapshotRecord(key=key, id=snapshot_id, parent=parent, kind=kind,
                                backend=self.backend, created_at=time.time())
        self.db.execute(
            "INSERT INTO snapshots(key, id, parent, kind, backend, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (record.key, record.id, record.parent, record.kind, record.backend,
             record.created_at))
        return record

    def mark_committed(self, key: str, name: str) -> None:
        self.db.execute("UPDATE snapshots SET key = ?, kind = 'committed' WHERE key = ?",
                        (name, key))

    def delete(self, key: str) -> None:
        self.db.execute("DELETE FROM snapshots WHERE key = ?", (key,))
