"""A streaming tar reader built for speed and for hostile input.

Reads forward only (pipes and decompressors work), keeps one large buffer so that
small members cost no extra reads, and copies big members straight from the
source into the destination file descriptor.  Every structural problem, including
a stream that ends early, is a :class:`~hull.errors.CorruptArchive`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from hull.archive import tarformat
from hull.archive.tarformat import BLOCK, TarEntry
from hull.errors import CorruptArchive

BUFFER_SIZE = 1 << 20


def write_all(fd: int, data: memoryview | bytes) -> None:
    """os.write until every byte is written (writes may be partial)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


#: Owners Linux can store: uid_t is 32 bits and (uid_t)-1 means "unchanged" to chown.
MAX_ID = 2**32 - 2
#: Timestamps utimensat can take: a 64-bit time_t of seconds.
_TIME_LIMIT_NS = 2**63 * 1_000_000_000


def check_linux_ranges(entry: TarEntry) -> None:
    """Refuse owners and mtimes a Linux file cannot have, so that a hostile header is a
    CorruptArchive naming the entry rather than an overflow deep in a syscall wrapper."""
    for what, value in (("uid", entry.uid), ("gid", entry.gid)):
        if not 0 <= value <= MAX_ID:
            raise CorruptArchive(f"layer tar entry {entry.name!r} has an impossible {what} "
                                 f"{value}")
    if not -_TIME_LIMIT_NS <= entry.mtime_ns < _TIME_LIMIT_NS:
        raise CorruptArchive(f"layer tar entry {entry.name!r} has an impossible mtime")


class TarReader:
    """Iterate the members of a tar stream; read each member's data before the next one."""

    def __init__(self, stream: BinaryIO, buffer_size: int = BUFFER_SIZE) -> None:
        self._stream = stream
        self._buffer_size = buffer_size
        self._buf = b""
        self._pos = 0
        self._remaining = 0  # data bytes of the current member not consumed yet
        self._padding = 0  # padding after the current member's data
        self._scratch: bytearray | None = None
        self._current = ""
        self._finished = False

    # ------------------------------------------------------------------ buffer primitives

    def _available(self) -> int:
        return len(self._buf) - self._pos

    def _fill(self, wanted: int) -> int:
        """Make at least ``wanted`` bytes available (fewer only at end of stream)."""
        available = self._available()
        if available >= wanted:
            return available
        chunks = [self._buf[self._pos :]] if available else []
        while available < wanted:
            chunk = self._stream.read(max(self._buffer_size, wanted - available))
            if not chunk:
                break
            chunks.append(chunk)
            available += len(chunk)
        self._buf = b"".join(chunks)
        self._pos = 0
        return available

    def _take(self, size: int) -> bytes:
        if self._fill(size) < size:
            raise CorruptArchive(self._truncated())
        data = self._buf[self._pos : self._pos + size]
        self._pos += size
        return data

    def _discard(self, size: int) -> None:
        while size:
            available = self._fill(min(size, self._buffer_size))
            if available == 0:
                raise CorruptArchive(self._truncated())
            step = min(available, size)
            self._pos += step
            size -= step

    def _truncated(self) -> str:
        where = f" in {self._current!r}" if self._current else ""
        return f"layer tar is truncated (unexpected end of data{where})"

    # ------------------------------------------------------------------ members

    def __iter__(self) -> Iterator[TarEntry]:
        while (entry := self.next()) is not None:
            yield entry

    def next(self) -> TarEntry | None:
        """The next member (skipping any unread data of the previous one), or None at the end."""
        if self._finished:
            return None
        self._finish_member()
        pax: dict[str, bytes] = {}
        longname: bytes | None = None
        longlink: bytes | None = None
        while True:
            available = self._fill(BLOCK)
            if available == 0 and not (pax or longname or longlink):
                # Like Go's archive/tar: a stream that stops at a member boundary is complete.
                self._finished = True
                return None
            if available < BLOCK:
                raise CorruptArchive(self._truncated())
            block = self._take(BLOCK)
            if block == tarformat.ZERO_BLOCK:
                if pax or longname or longlink:
                    raise CorruptArchive("layer tar ends after an extended header")
                self._finished = True
                return None
            raw = tarformat.parse_header(block)
            if raw.type in tarformat.EXTENSION_TYPES:
                if not 0 <= raw.size <= tarformat.MAX_EXTENDED_HEADER:
                    raise CorruptArchive(f"layer tar has an oversized extended header "
                                         f"({raw.size} bytes)")
                self._current = os.fsdecode(raw.name)
                data = self._take(raw.size)
                self._discard(-raw.size % BLOCK)
                if raw.type == tarformat.PAX_HEADER:
                    pax.update(tarformat.parse_pax(data))
                elif raw.type == tarformat.GNU_LONGNAME:
                    longname = data.split(b"\0", 1)[0]
                elif raw.type == tarformat.GNU_LONGLINK:
                    longlink = data.split(b"\0", 1)[0]
                # Global PAX headers carry nothing layers rely on; they are skipped.
                continue
            entry = tarformat.make_entry(raw, pax, longname, longlink)
            self._current = entry.name
            if entry.size < 0:
                raise CorruptArchive(f"layer tar entry {entry.name!r} has a negative size")
            check_linux_ranges(entry)
            # Members other than regular files carry no data in practice; a stated size
            # is honoured by skipping that many bytes.
            self._remaining = entry.size
            self._padding = -entry.size % BLOCK
            return entry

    def _finish_member(self) -> None:
        if self._remaining:
            self._discard(self._remaining)
            self._remaining = 0
        if self._padding:
            self._discard(self._padding)
            self._padding = 0

    def read_data(self) -> bytes:
        """The current member's whole data (meant for small members)."""
        data = self._take(self._remaining)
        self._remaining = 0
        return data

    def copy_data_to(self, fd: int) -> int:
        """Write the current member's data to ``fd``; return the number of bytes."""
        total = self._remaining
        remaining = total
        available = self._available()
        if available:
            step = min(available, remaining)
            write_all(fd, memoryview(self._buf)[self._pos : self._pos + step])
            self._pos += step
            remaining -= step
        if remaining >= self._buffer_size:
            remaining = self._copy_large(fd, remaining)
        if remaining:
            # The tail goes through the buffer, which also picks up the following headers.
            if self._fill(remaining) < remaining:
                raise CorruptArchive(self._truncated())
            write_all(fd, memoryview(self._buf)[self._pos : self._pos + remaining])
            self._pos += remaining
        self._remaining = 0
        return total

    def _copy_large(self, fd: int, remaining: int) -> int:
        """Copy whole buffers straight from the source; return what is left (< one buffer)."""
        if self._scratch is None:
            self._scratch = bytearray(self._buffer_size)
        view = memoryview(self._scratch)
        readinto = getattr(self._stream, "readinto", None)
        while remaining >= self._buffer_size:
            if readinto is not None:
                count = readinto(view)
                chunk: memoryview | bytes = view[:count] if count else b""
            else:
                chunk = self._stream.read(self._buffer_size)
                count = len(chunk)
            if not count:
                raise CorruptArchive(self._truncated())
            write_all(fd, chunk)
            remaining -= count
        return remaining

    def drain(self) -> None:
        """Read the source to its end (so that a hash over it covers every byte)."""
        self._buf = b""
        self._pos = 0
        while self._stream.read(self._buffer_size):
            pass
