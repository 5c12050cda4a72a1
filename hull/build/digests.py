"""Content digests of context files, remembered between builds by the files' stat identity.

COPY's cache key covers the content of every file it copies, so without a memory a
one-file change to a large context reads the whole context again.  Like git's index, a
file whose inode, device, size, mtime and ctime are what they were has the content it had:
every write moves ctime, and ctime cannot be set from user space.  A file whose ctime was
less than a second old when it was read is not remembered, so a write that lands in the
same clock tick as the read cannot go unnoticed (git's "racily clean" rule).

One memo per context directory and Dockerfile lives in ``<root>/build/digests/``; it
keeps the files the last build hashed, so files that went away are forgotten.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import time

MEMO_FORMAT = 1
RACY_NS = 1_000_000_000

Identity = tuple[int, int, int, int, int]


def _identity(st: os.stat_result) -> Identity:
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def file_digest(path: str) -> bytes:
    """The sha256 of a file's content."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").digest()


class DigestMemo:
    """File digests of one context, loaded from and saved to one memo file."""

    def __init__(self, memo_path: str | None) -> None:
        self.memo_path = memo_path
        self._known: dict[str, tuple[Identity, bytes]] = {}
        self._used: dict[str, tuple[Identity, bytes]] = {}
        if memo_path is not None:
            self._known = _load(memo_path)

    @classmethod
    def for_context(cls, root: str, context_dir: str | None, dockerfile: str) -> DigestMemo:
        """The memo of a context directory (none for a context unpacked from a tar)."""
        if context_dir is None:
            return cls(None)
        key = hashlib.sha256(f"{os.path.abspath(context_dir)}\0{dockerfile}".encode(
            "utf-8", "surrogateescape")).hexdigest()[:32]
        return cls(os.path.join(root, "build", "digests", key))

    def digest(self, path: str, st: os.stat_result) -> bytes:
        """The content digest of the regular file ``path`` whose stat is ``st``."""
        identity = _identity(st)
        known = self._known.get(path)
        if known is not None and known[0] == identity:
            self._used[path] = known
            return known[1]
        started = time.time_ns()
        value = file_digest(path)
        if st.st_ctime_ns < started - RACY_NS:
            self._used[path] = (identity, value)
        return value

    def save(self) -> None:
        """Keep what this (successful) build hashed, if it differs from what was loaded."""
        if self.memo_path is None or not self._used or self._used == self._known:
            return
        directory = os.path.dirname(self.memo_path)
        os.makedirs(directory, exist_ok=True)
        tmp = f"{self.memo_path}.{os.getpid()}-{os.urandom(4).hex()}"
        try:
            with open(tmp, "wb") as f:
                marshal.dump((MEMO_FORMAT, self._used), f)
            os.replace(tmp, self.memo_path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _load(memo_path: str) -> dict[str, tuple[Identity, bytes]]:
    """The memo's entries; an unreadable or foreign memo is an empty one."""
    try:
        with open(memo_path, "rb") as f:
            fmt, entries = marshal.load(f)
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if fmt != MEMO_FORMAT or not isinstance(entries, dict):
        return {}
    return entries


def forget_all(root: str) -> None:
    """Remove every memo of the engine root ``root`` (``hull builder prune``)."""
    import shutil

    shutil.rmtree(os.path.join(root, "build", "digests"), ignore_errors=True)
