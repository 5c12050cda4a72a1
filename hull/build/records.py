"""Build records: answer a rebuild whose inputs have not changed without redoing the work.

After a successful build from a context directory, the builder keeps a record: the
request (Dockerfile text, flags, tags), the base images it resolved, the *stat identity*
(inode, size, mode, mtime and ctime in nanoseconds) of every context file and directory
the build read, and the step lines it reported.  The next identical request checks those
stats, the base images and the result image; if all are unchanged, the result is known
without parsing the Dockerfile or hashing the context again, and the recorded steps are
reported as cache hits.

This is only a memo of the step cache, in the way ``git status`` trusts unchanged stat
data: a file cannot change content without changing its ctime, so a record never gives a
different answer than the full path would.  Any difference (an edited or touched file, a
new file in a directory that was copied, a retagged base image) falls through to the full
build, whose cache then works on contents.  This module imports little on purpose.
"""

from __future__ import annotations

import marshal
import os
import time

from hull.record import record

try:  # CPython's own sha256: hashing a few hundred bytes needs no OpenSSL load (3 ms)
    from _sha256 import sha256
except ImportError:  # pragma: no cover - other interpreters, or 3.12's module name
    try:
        from _sha2 import sha256  # type: ignore[no-redef]
    except ImportError:
        from hashlib import sha256  # type: ignore[no-redef]

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

    from hull.build.progress import Progress
    from hull.state.db import Database

DEFAULT_DOCKERFILE = "Dockerfile"
RECORD_FORMAT = 2  # rows of another format (or from another interpreter) are misses


@record
class BuildResult:
    image_id: str
    tags: list[str]
    steps: int = 0
    cached: int = 0


def stat_identity(st: os.stat_result) -> list[int]:
    return [st.st_ino, st.st_dev, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def _current(path: str) -> list[int] | None:
    try:
        return stat_identity(os.lstat(path))
    except (FileNotFoundError, NotADirectoryError):
        return None


class FileWatch:
    """The stat identity of every context path a build reads (``None``: must not exist)."""

    def __init__(self) -> None:
        self.paths: dict[str, list[int] | None] = {}
        self.usable = True

    def saw(self, path: str, st: os.stat_result) -> None:
        self.paths.setdefault(path, stat_identity(st))

    def saw_path(self, path: str) -> None:
        if path not in self.paths:
            self.paths[path] = _current(path)

    def unchanged(self) -> bool:
        return all(_current(path) == ident for path, ident in self.paths.items())


class Record:
    """What a successful build read and reported, stored as a marshal blob.

    marshal (built into the interpreter) reads the record back in microseconds without
    importing json (and with it re); the rows are the engine's own data, written by this
    module only.
    """

    __slots__ = ("bases", "events", "familiar", "files", "image_id", "tags")

    def __init__(self, image_id: str, files: dict[str, list[int] | None],
                 bases: list[tuple[str, str]], tags: list[str], familiar: list[str],
                 events: list[list[Any]] | None = None) -> None:
        self.image_id = image_id
        self.files = files
        self.bases = bases  # (normalised reference or "", image id)
        self.tags = tags  # normalised tag names
        self.familiar = familiar
        self.events = events if events is not None else []

    def to_blob(self) -> bytes:
        return marshal.dumps((RECORD_FORMAT, self.files, [list(b) for b in self.bases],
                              self.tags, self.familiar, self.events))

    @classmethod
    def from_row(cls, image_id: str, data: object) -> Record | None:
        """The record in a row, or None for a row this version cannot read."""
        if not isinstance(data, bytes):
            return None
        try:
            fmt, files, bases, tags, familiar, events = marshal.loads(data)
        except (ValueError, EOFError, TypeError):
            return None
        if fmt != RECORD_FORMAT:
            return None
        return cls(image_id, files, [(b[0], b[1]) for b in bases], tags, familiar, events)


def dockerfile_path(context: str, given: str | None) -> str | None:
    """The Dockerfile a directory build would read (as the context loader finds it)."""
    if given:
        return os.path.abspath(given)
    for name in (DEFAULT_DOCKERFILE, "dockerfile"):
        path = os.path.join(context, name)
        if os.path.isfile(path):
            return path
    return None


def request_key(context: str, dockerfile: str, dockerfile_bytes: bytes,
                fields: dict[str, Any]) -> str:
    doc = (os.path.abspath(context), dockerfile, sha256(dockerfile_bytes).hexdigest(),
           _canonical(fields))
    return "sha256:" + sha256(repr(doc).encode()).hexdigest()


def _canonical(value: object) -> object:
    """``value`` with every dict as sorted items, so equal requests give equal reprs."""
    if isinstance(value, dict):
        return [(k, _canonical(v)) for k, v in sorted(value.items())]
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def lookup(db: Database, key: str) -> Record | None:
    """The record for ``key`` if every input it lists is as it was."""
    row = db.query_one("SELECT image_id, data FROM build_records WHERE key = ?", (key,))
    if row is None:
        return None
    record = Record.from_row(row["image_id"], row["data"])
    if record is None:
        return None
    if db.query_one("SELECT 1 FROM images WHERE id = ?", (record.image_id,)) is None:
        return None
    for name, image_id in record.bases:
        if name:
            found = db.query_one("SELECT image_id FROM image_refs WHERE name = ?", (name,))
            if found is None or found["image_id"] != image_id:
                return None
        elif db.query_one("SELECT 1 FROM images WHERE id = ?", (image_id,)) is None:
            return None
    for path, ident in record.files.items():
        if _current(path) != ident:
            return None
    return record


def stale_tags(db: Database, record: Record) -> list[str]:
    """The record's tags that no longer name its image (moved or removed since)."""
    stale = []
    for name in record.tags:
        row = db.query_one("SELECT image_id FROM image_refs WHERE name = ?", (name,))
        if row is None or row["image_id"] != record.image_id:
            stale.append(name)
    return stale


def save(db: Database, key: str, record: Record) -> None:
    with db.transaction():
        db.execute("INSERT INTO build_records (key, image_id, data, created_at)"
                   " VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
                   " image_id = excluded.image_id, data = excluded.data,"
                   " created_at = excluded.created_at",
                   (key, record.image_id, record.to_blob(), time.time()))


def forget_all(db: Database) -> int:
    with db.transaction():
        return db.execute("DELETE FROM build_records").rowcount


def replay(record: Record, progress: Progress) -> None:
    """Report the recorded steps as cache hits."""
    for event in record.events:
        kind, *args = event
        if kind == "step":
            progress.step(*args)
        elif kind == "base":
            progress.base(*args)
        elif kind in ("cached", "done"):
            progress.cached(*args)
        elif kind == "triggers":
            progress.triggers(*args)
        elif kind == "warning":
            progress.warning(*args)


class RecordingProgress:
    """Passes reports on to a progress reporter and keeps the ones a replay repeats."""

    def __init__(self, inner: Progress) -> None:
        self.inner = inner
        self.events: list[list[Any]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)
        if name not in ("step", "base", "cached", "done", "triggers", "warning"):
            return method

        def record(*args: Any) -> Any:
            self.events.append([name, *(a for a in (args[:2] if name == "done" else args))])
            return method(*args)

        return record
