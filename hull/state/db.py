"""The engine's SQLite database: schema migrations, connections and transactions.

One database (``<root>/hull.db``, WAL mode) holds all metadata.  Every change
that touches more than one row happens inside :meth:`Database.transaction`, so a
crash leaves either the old or the new state, never a mix.  Writers take the
write lock up front (``BEGIN IMMEDIATE``) so concurrent CLI processes queue
instead of failing half-way.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from hull.state.schema import MIGRATIONS

BUSY_TIMEOUT_MS = 30_000


class Database:
    """A connection to the engine database, migrated to the current schema on open."""

    def __init__(self, path: str) -> None:
        self.path = path
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self.conn.execute("PRAGMA foreign_keys=ON")
        # WAL makes NORMAL safe against corruption; a power cut may lose only the last commits.
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def reopen(self) -> None:
        """A fresh connection to the same database.

        A SQLite connection must never cross a fork: a forked child that keeps using its
        parent's connection can write commits other processes do not see. Whoever forks
        closes or reopens the connection on the child's side.
        """
        self.conn.close()
        self.__init__(self.path)  # type: ignore[misc]

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version >= len(MIGRATIONS):
            return
        if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.conn.execute("PRAGMA journal_mode=WAL")
        with self.transaction():
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, len(MIGRATIONS)):
                for statement in _split_sql(MIGRATIONS[number]):
                    self.conn.execute(statement)
            self.conn.execute(f"PRAGMA user_version={len(MIGRATIONS)}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: commit on success, roll back on any exception.

        Nested use joins the outer transaction.
        """
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: tuple | dict = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def close(self) -> None:
        self.conn.close()


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (they contain no semicolons in literals)."""
    return [s.strip() for s in script.split(";") if s.strip()]
