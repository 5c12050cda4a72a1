"""Blob upload sessions: ``<root>/uploads/<uuid>/{data,repo}``.

Chunks are appended to ``data`` and hashed as they arrive, so finishing a
100 MB upload does not read it again.  The running hash lives in memory; after
a restart it is rebuilt from the file.  Finishing fsyncs the data, compares its
digest with the one the client claims and only then renames it into the blob
store, so a crash or a lying client never leaves content under a wrong digest.
A blob sent whole with ``POST ?digest=`` needs no session: it goes through the
blob store's ingest area with the same checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import time
import uuid as uuidlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from hull.registry.server.errors import RegistryError
from hull.registry.server.routing import validate_upload_id
from hull.registry.server.storage import RegistryStorage

READ_CHUNK = 1 << 20


@dataclass
class UploadSession:
    """One upload in progress; ``offset`` bytes have been received so far."""

    uuid: str
    repo: str
    directory: str
    offset: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def data_path(self) -> str:
        return os.path.join(self.directory, "data")

    def range_header(self) -> str:
        """The ``Range`` value for the bytes received so far (``0-0`` when none)."""
        return f"0-{max(self.offset - 1, 0)}"


class Uploads:
    """Upload sessions of one registry root."""

    def __init__(self, storage: RegistryStorage) -> None:
        self.storage = storage
        self.dir = storage.uploads_dir
        self._sessions: dict[str, UploadSession] = {}

    def start(self, repo: str) -> UploadSession:
        """Open a new, empty session for ``repo``."""
        uid = str(uuidlib.uuid4())
        directory = os.path.join(self.dir, uid)
        os.makedirs(directory)
        with open(os.path.join(directory, "repo"), "w") as f:
            f.write(repo)
        with open(os.path.join(directory, "startedat"), "w") as f:
            f.write(str(int(time.time())))
        open(os.path.join(directory, "data"), "wb").close()
        session = UploadSession(uid, repo, directory)
        self._sessions[uid] = session
        return session

    def get(self, repo: str, uid: str) -> UploadSession:
        """The session ``uid`` of ``repo``; BLOB_UPLOAD_UNKNOWN if there is none."""
        validate_upload_id(uid)
        session = self._sessions.get(uid)
        if session is None:
            session = self._load(uid)
        if session is None or session.repo != repo:
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"uuid": uid})
        return session

    def _load(self, uid: str) -> UploadSession | None:
        """Pick up a session started before a restart: re-hash what it has received."""
        directory = os.path.join(self.dir, uid)
        try:
            with open(os.path.join(directory, "repo")) as f:
                repo = f.read().strip()
            session = UploadSession(uid, repo, directory)
            with open(session.data_path, "rb") as f:
                while chunk := f.read(READ_CHUNK):
                    session.hasher.update(chunk)
                    session.offset += len(chunk)
        except FileNotFoundError:
            return None
        self._sessions[uid] = session
        return session

    async def append(self, session: UploadSession, chunks: AsyncIterator[bytes],
                     expected_length: int | None = None) -> int:
        """Append what ``chunks`` yields as one unit; returns how many bytes were added.

        A chunk is all or nothing: if the client disconnects, or sends a length
        other than ``expected_length``, the file and hash go back to where they
        were, so the session always agrees with its file.
        """
        start, before = session.offset, session.hasher.copy()
        fd = os.open(session.data_path, os.O_WRONLY | os.O_APPEND)
        try:
            async for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    n = os.write(fd, view)
                    session.hasher.update(view[:n])
                    session.offset += n
                    view = view[n:]
            added = session.offset - start
            if expected_length is not None and added != expected_length:
                raise RegistryError("SIZE_INVALID", f"received {added} bytes, Content-Range "
                                    f"announced {expected_length}")
        except BaseException:
            os.ftruncate(fd, start)
            session.offset, session.hasher = start, before
            raise
        finally:
            os.close(fd)
        return added

    def finish(self, session: UploadSession, expected: str) -> int:
        """Verify the data and move it into the blob store; returns its size. Blocking.

        On a digest mismatch the session is discarded and nothing is stored.
        """
        actual = "sha256:" + session.hasher.hexdigest()
        if actual != expected:
            self.discard(session)
            raise RegistryError("DIGEST_INVALID",
                                f"uploaded content has digest {actual}, not {expected}",
                                detail={"expected": expected, "actual": actual})
        store = self.storage.blobs
        if not store.has(expected):
            fd = os.open(session.data_path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.makedirs(store.blob_dir, exist_ok=True)
            os.rename(session.data_path, store.path(expected))
            _fsync_dir(store.blob_dir)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(session.data_path)
        # The session is over; its directory (now without data) is removed by
        # remove_files, which the caller may run after answering.
        self._sessions.pop(session.uuid, None)
        return session.offset

    async def store_whole(self, chunks: AsyncIterator[bytes], expected: str) -> int:
        """A blob sent whole with ``POST ?digest=``: into the blob store without a session.

        It is written to the store's ingest area and hashed as it arrives, and renamed
        under its digest (after fsync) only if it matches ``expected``; returns its size.
        """
        writer = self.storage.blobs.writer()
        try:
            async for chunk in chunks:
                writer.write(chunk)
            actual = writer.digest
            if actual != expected:
                raise RegistryError("DIGEST_INVALID",
                                    f"uploaded content has digest {actual}, not {expected}",
                                    detail={"expected": expected, "actual": actual})
            if not self.storage.blobs.has(expected):
                await asyncio.get_running_loop().run_in_executor(None, writer.commit, "",
                                                                 expected)
            return writer.size
        finally:
            writer.abort()  # nothing left to do after a commit

    def remove_files(self, session: UploadSession) -> None:
        """Delete a finished session's directory."""
        shutil.rmtree(session.directory, ignore_errors=True)

    def discard(self, session: UploadSession) -> None:
        """Forget the session and delete its files."""
        self._sessions.pop(session.uuid, None)
        shutil.rmtree(session.directory, ignore_errors=True)

    def stale(self, older_than: float) -> list[str]:
        """Ids of sessions not written to for ``older_than`` seconds."""
        found: list[str] = []
        now = time.time()
        with contextlib.suppress(FileNotFoundError):
            for uid in sorted(os.listdir(self.dir)):
                try:
                    last_write = os.stat(os.path.join(self.dir, uid, "data")).st_mtime
                except FileNotFoundError:
                    last_write = 0
                if now - last_write > older_than:
                    found.append(uid)
        return found

    def purge(self, older_than: float) -> list[str]:
        """Delete sessions not written to for ``older_than`` seconds; returns their ids."""
        removed = self.stale(older_than)
        for uid in removed:
            shutil.rmtree(os.path.join(self.dir, uid), ignore_errors=True)
            self._sessions.pop(uid, None)
        return removed


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
