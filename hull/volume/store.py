"""Volume rows in the engine database and which containers use each volume.

``volumes`` holds one row per volume; ``container_mounts`` one row per mount point of a
container (its volume, if any, is a foreign key, so a used volume cannot vanish under a
container; the row goes with its container by ``ON DELETE CASCADE``).  A volume is in use
exactly while some container, running or not, has a mount of it, as in Docker.
"""

from __future__ import annotations

import json

from hull.volume.model import Volume

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from hull.state.db import Database


class VolumeStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, name: str) -> Volume | None:
        row = self.db.query_one("SELECT * FROM volumes WHERE name = ?", (name,))
        return Volume.from_row(row) if row else None

    def all(self) -> list[Volume]:
        return [Volume.from_row(r) for r in self.db.query("SELECT * FROM volumes ORDER BY name")]

    def insert(self, v: Volume) -> None:
        """Add a row (inside the caller's transaction)."""
        self.db.execute(
            "INSERT INTO volumes (name, driver, labels, options, created_at, remove_with)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (v.name, v.driver, json.dumps(v.labels), json.dumps(v.options), v.created_at,
             v.remove_with))

    def delete(self, name: str) -> None:
        self.db.execute("DELETE FROM volumes WHERE name = ?", (name,))

    def users(self, name: str) -> list[str]:
        """Ids of the containers with a mount of this volume (oldest mount first)."""
        rows = self.db.query("SELECT DISTINCT container_id FROM container_mounts"
                             " WHERE volume = ? ORDER BY rowid", (name,))
        return [r["container_id"] for r in rows]

    def used_names(self) -> set[str]:
        rows = self.db.query("SELECT DISTINCT volume FROM container_mounts"
                             " WHERE volume IS NOT NULL")
        return {r["volume"] for r in rows}

    def set_remove_with(self, names: list[str], container_id: str) -> None:
        for name in names:
            self.db.execute("UPDATE volumes SET remove_with = ? WHERE name = ?",
                            (container_id, name))

    def removable_with(self, container_id: str) -> list[str]:
        """Anonymous volumes that go with ``container_id`` and no container uses any more."""
        rows = self.db.query(
            "SELECT name FROM volumes WHERE remove_with = ? AND NOT EXISTS"
            " (SELECT 1 FROM container_mounts WHERE volume = volumes.name)", (container_id,))
        return [r["name"] for r in rows]

    # ---- a container's mount points -----------------------------------------------------

    def add_mount(self, container_id: str, destination: str, volume: str | None,
                  spec: dict, copy_pending: bool) -> None:
        self.db.execute(
            "INSERT INTO container_mounts (container_id, destination, volume, spec,"
            " copy_pending) VALUES (?, ?, ?, ?, ?)",
            (container_id, destination, volume, json.dumps(spec), int(copy_pending)))

    def mounts_of(self, container_id: str) -> list[tuple[dict, bool]]:
        """(mount point spec, copy-up still due) for each mount of a container, in order."""
        rows = self.db.query("SELECT spec, copy_pending FROM container_mounts"
                             " WHERE container_id = ? ORDER BY rowid", (container_id,))
        return [(json.loads(r["spec"]), bool(r["copy_pending"])) for r in rows]

    def copy_done(self, container_id: str, destination: str) -> None:
        self.db.execute("UPDATE container_mounts SET copy_pending = 0"
                        " WHERE container_id = ? AND destination = ?",
                        (container_id, destination))
