"""A content-addressed blob store laid out like an OCI image layout.

Blobs live at ``<root>/blobs/sha256/<hex>``.  A blob is written to a temporary
file in ``<root>/ingest``, fsynced, its digest checked, then renamed into place,
so a crash or a lying source never leaves a half-written file under a real
digest.  Reads of blobs do not re-verify (the store wrote them); everything
that comes from outside is verified on the way in.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator

from hull import digest as dg
from hull.errors import DigestMismatch, EngineError, NotFound
from hull.oci.descriptor import Descriptor
from hull.pids import pid_alive

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import BinaryIO

CHUNK = 1 << 20


class BlobStore:
    """Blobs by sha256 digest under ``root``."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.blob_dir = os.path.join(root, "blobs", "sha256")
        self.ingest_dir = os.path.join(root, "ingest")

    def _ensure_dirs(self) -> None:
        os.makedirs(self.blob_dir, exist_ok=True)
        os.makedirs(self.ingest_dir, exist_ok=True)

    def path(self, digest: str) -> str:
        """Where the blob with ``digest`` lives (whether or not it exists)."""
        return os.path.join(self.blob_dir, dg.hex_of(digest))

    def has(self, digest: str) -> bool:
        return os.path.exists(self.path(digest))

    def size(self, digest: str) -> int:
        try:
            return os.stat(self.path(digest)).st_size
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found in the content store") from None

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} not found in the content store") from None

    def read(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def put_bytes(self, data: bytes, media_type: str = "", expected: str | None = None) -> Descriptor:
        """Store ``data``; if ``expected`` is given, refuse data that does not match it."""
        import io

        return self.put(io.BytesIO(data), media_type, expected=expected, expected_size=len(data))

    def put(
        self,
        stream: BinaryIO,
        media_type: str = "",
        expected: str | None = None,
        expected_size: int | None = None,
    ) -> Descriptor:
        """Store what ``stream`` yields; verify against ``expected`` digest and size if given.

        When ``expected`` is already stored, the stream is left unread: same digest, same bytes.
        """
        if expected is not None and self.has(expected):
            return Descriptor(media_type=media_type, digest=expected, size=self.size(expected))
        with self.writer() as writer:
            while chunk := stream.read(CHUNK):
                writer.write(chunk)
            if expected_size is not None and writer.size != expected_size:
                raise DigestMismatch(
                    f"content size {writer.size} does not match expected {expected_size}")
            return writer.commit(media_type, expected=expected)

    def writer(self) -> BlobWriter:
        """A file-like sink; ``commit()`` returns the descriptor of what was written."""
        self._ensure_dirs()
        fd, tmp = self._tempfile()
        return BlobWriter(self, fd, tmp)

    def delete(self, digest: str) -> bool:
        try:
            os.unlink(self.path(digest))
            return True
        except FileNotFoundError:
            return False

    def walk(self) -> Iterator[str]:
        """Every digest in the store."""
        try:
            names = os.listdir(self.blob_dir)
        except FileNotFoundError:
            return
        for name in names:
            if len(name) == 64:
                yield "sha256:" + name

    def clean_ingest(self) -> int:
        """Remove temp files whose writer process is gone (a crash or kill -9); return how many.

        Temp files are named ``<kind>-<pid>-<random>``, so live writers are left alone.
        """
        removed = 0
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(self.ingest_dir):
                parts = name.split("-", 2)
                if len(parts) == 3 and parts[1].isdigit() and pid_alive(int(parts[1])):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self.ingest_dir, name))
                    removed += 1
        return removed

    def disk_usage(self) -> int:
        total = 0
        for d in self.walk():
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(self.path(d)).st_size
        return total

    def _tempfile(self) -> tuple[int, str]:
        import tempfile

        return tempfile.mkstemp(dir=self.ingest_dir, prefix=f"blob-{os.getpid()}-")

    def _fsync_dir(self) -> None:
        fd = os.open(self.blob_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class BlobWriter:
    """Writes a blob of not-yet-known digest; hashing as it goes."""

    def __init__(self, store: BlobStore, fd: int, tmp: str) -> None:
        self._store = store
        self._file = os.fdopen(fd, "wb")
        self._tmp = tmp
        import hashlib  # loaded on first write: reading the store never hashes

        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._hash.update(data)
        self.size += len(data)
        try:
            return self._file.write(data)
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise EngineError("no space left on device while writing to the content store")
            raise

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self._file.flush()

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()

    def commit(self, media_type: str = "", expected: str | None = None) -> Descriptor:
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as e:
            self.abort()
            if e.errno == errno.ENOSPC:
                raise EngineError("no space left on device while writing to the content store")
            raise
        self._file.close()
        actual = self.digest
        if expected is not None and expected != actual:
            self.abort()
            raise DigestMismatch(f"content digest {actual} does not match expected {expected}")
        os.rename(self._tmp, self._store.path(actual))
        self._tmp = ""
        self._store._fsync_dir()
        return Descriptor(media_type=media_type, digest=actual, size=self.size)

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        if self._tmp:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)
            self._tmp = ""

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()
