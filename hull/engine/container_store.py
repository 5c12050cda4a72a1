"""Reading and changing container rows, one transaction per change.

Both the CLI and the shims write container records, from different processes at the same
time; :meth:`ContainerStore.update` re-reads the row inside a write transaction so no
writer's change is lost.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from hull.engine.container_model import Container
from hull.errors import Conflict, NotFound

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from hull.state.db import Database


def name_conflict(name: str, holder: str) -> Conflict:
    return Conflict(f'Conflict. The container name "/{name}" is already in use by container'
                    f' "{holder}". You have to remove (or rename) that container to be able to'
                    " reuse that name.")


class ContainerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, container_id: str) -> Container:
        row = self.db.query_one("SELECT * FROM containers WHERE id = ?", (container_id,))
        if row is None:
            raise NotFound(f"No such container: {container_id}")
        return Container.from_row(row)

    def find(self, ref: str) -> Container:
        """By full id, then name, then unique id prefix (Docker's order)."""
        text = ref.strip().lstrip("/")
        if not text:
            raise NotFound(f"No such container: {ref}")
        row = self.db.query_one("SELECT * FROM containers WHERE id = ?", (text,))
        if row is None:
            row = self.db.query_one("SELECT * FROM containers WHERE name = ?", (text,))
        if row is None and all(c in "0123456789abcdef" for c in text):
            rows = self.db.query("SELECT * FROM containers WHERE id LIKE ? LIMIT 2",
                                 (text + "%",))
            if len(rows) > 1:
                raise Conflict(f"multiple IDs found with provided prefix: {text}")
            row = rows[0] if rows else None
        if row is None:
            raise NotFound(f"No such container: {ref}")
        return Container.from_row(row)

    def all(self) -> list[Container]:
        """Every container, newest first."""
        rows = self.db.query("SELECT * FROM containers ORDER BY created_at DESC, rowid DESC")
        return [Container.from_row(r) for r in rows]

    def owned_by_shims(self) -> list[Container]:
        """Containers a shim claims (running, starting or stopping)."""
        rows = self.db.query(
            "SELECT * FROM containers WHERE json_extract(data, '$.Hull.ShimPid') > 0"
            " OR json_extract(data, '$.State.Running')")
        return [Container.from_row(r) for r in rows]

    def insert(self, c: Container) -> None:
        try:
            with self.db.transaction():
                self.db.execute(
                    "INSERT INTO containers (id, name, image_id, created_at, data)"
                    " VALUES (?, ?, ?, ?, ?)", (c.id, c.name, c.image_id, c.created_at, c.dumps()))
        except sqlite3.IntegrityError:
            row = self.db.query_one("SELECT id FROM containers WHERE name = ?", (c.name,))
            raise name_conflict(c.name, row["id"] if row else "?") from None

    def update(self, container_id: str, change: Callable[[Container], object]) -> Container:
        """Apply ``change`` to the freshest copy of the record and store it atomically."""
        with self.db.transaction():
            c = self.get(container_id)
            change(c)
            self.db.execute("UPDATE containers SET data = ? WHERE id = ?", (c.dumps(), c.id))
        return c

    def rename(self, container_id: str, new_name: str) -> None:
        try:
            with self.db.transaction():
                self.db.execute("UPDATE containers SET name = ? WHERE id = ?",
                                (new_name, container_id))
        except sqlite3.IntegrityError:
            row = self.db.query_one("SELECT id FROM containers WHERE name = ?", (new_name,))
            raise name_conflict(new_name, row["id"] if row else "?") from None

    def delete(self, container_id: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM containers WHERE id = ?", (container_id,))
