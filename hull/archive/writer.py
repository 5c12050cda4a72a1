"""Write canonical layer tars from files on disk.

The same tree always gives the same bytes: entries come in the caller's (sorted)
order, headers are canonical (see :mod:`hull.archive.tarformat`), whiteouts carry
fixed metadata, and a file seen again through another hardlink is written as a
hardlink to the first name.  Small members are gathered in one buffer so that a
tree of many small files costs few writes to ``out``.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

from hull.archive import tarformat
from hull.archive.tarformat import BLOCK, TarEntry
from hull.errors import EngineError

_FLUSH_AT = 1 << 20
_CHUNK = 1 << 20
_NS = 1_000_000_000
#: xattrs that describe the host or overlayfs' bookkeeping, not the layer's content.
SKIPPED_XATTR_PREFIXES = ("trusted.overlay.", "user.overlay.", "security.selinux")


def read_xattrs(path: str) -> dict[str, bytes]:
    """Every xattr of ``path`` (not following a final symlink)."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as error:
        if error.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return {}
        raise
    values: dict[str, bytes] = {}
    for name in names:
        try:
            values[name] = os.getxattr(path, name, follow_symlinks=False)
        except OSError as error:
            if error.errno != errno.ENODATA:  # removed meanwhile
                raise
    return values


def layer_xattrs(xattrs: dict[str, bytes]) -> dict[str, bytes]:
    """The xattrs that belong in a layer, sorted by name."""
    return {key: xattrs[key] for key in sorted(xattrs)
            if not key.startswith(SKIPPED_XATTR_PREFIXES)}


def entry_for(name: str, st: os.stat_result, xattrs: dict[str, bytes],
              linkname: str = "") -> TarEntry:
    """The canonical tar entry for a file whose lstat is ``st`` (name relative, no slash)."""
    mode = st.st_mode
    if stat.S_ISREG(mode):
        kind, size = tarformat.REGULAR, st.st_size
    elif stat.S_ISDIR(mode):
        kind, size, name = tarformat.DIRECTORY, 0, name + "/"
    elif stat.S_ISLNK(mode):
        kind, size = tarformat.SYMLINK, 0
    elif stat.S_ISCHR(mode):
        kind, size = tarformat.CHARDEV, 0
    elif stat.S_ISBLK(mode):
        kind, size = tarformat.BLOCKDEV, 0
    elif stat.S_ISFIFO(mode):
        kind, size = tarformat.FIFO, 0
    else:
        raise EngineError(f"cannot archive {name}: sockets and other special files are not "
                          f"supported in layers")
    dev = st.st_rdev if kind in (tarformat.CHARDEV, tarformat.BLOCKDEV) else 0
    return TarEntry(
        name=name, type=kind, mode=stat.S_IMODE(mode), uid=st.st_uid, gid=st.st_gid,
        size=size, mtime_ns=(st.st_mtime_ns // _NS) * _NS, linkname=linkname,
        devmajor=os.major(dev), devminor=os.minor(dev), xattrs=layer_xattrs(xattrs),
    )


class TarWriter:
    """Streams canonical tar members to ``out``; call :meth:`close` to end the archive."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._buf = bytearray()
        self._first_link: dict[tuple[int, int], str] = {}

    def _flush(self) -> None:
        if self._buf:
            self._out.write(self._buf)
            self._buf = bytearray()

    def add_path(self, name: str, path: str, st: os.stat_result,
                 xattrs: dict[str, bytes] | None = None) -> None:
        """Archive the file at ``path`` (lstat ``st``) under the relative ``name``; pass
        ``xattrs`` when they were read already.

        Sockets are skipped, as Docker does: they cannot be recreated from a tar, and
        one left behind in a container's /tmp must not make a commit fail.
        """
        if stat.S_ISSOCK(st.st_mode):
            return
        linkname = os.readlink(path) if stat.S_ISLNK(st.st_mode) else ""
        entry = entry_for(name, st, read_xattrs(path) if xattrs is None else xattrs, linkname)
        if not stat.S_ISDIR(st.st_mode) and st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            first = self._first_link.get(key)
            if first is not None:
                entry.type, entry.size, entry.linkname = tarformat.HARDLINK, 0, first
                entry.devmajor = entry.devminor = 0
                self._buf += tarformat.encode_header(entry)
                self._maybe_flush()
                return
            self._first_link[key] = name
        self._buf += tarformat.encode_header(entry)
        if entry.type == tarformat.REGULAR and entry.size:
            self._add_content(path, entry.size)
        self._maybe_flush()

    def add_whiteout(self, name: str) -> None:
        """A whiteout (``.wh.x``) or opaque marker; fixed metadata keeps diffs canonical."""
        self._buf += tarformat.encode_header(
            TarEntry(name=name, type=tarformat.REGULAR, mode=0o600))
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self._buf) >= _FLUSH_AT:
            self._flush()

    def _add_content(self, path: str, size: int) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            if size <= _CHUNK:
                data = os.read(fd, size + 1)
                if len(data) != size:
                    raise EngineError(f"{path} changed while it was being archived")
                self._buf += data
            else:
                self._flush()
                self._stream_content(fd, path, size)
            self._buf += tarformat.padding(size)
        finally:
            os.close(fd)

    def _stream_content(self, fd: int, path: str, size: int) -> None:
        scratch = bytearray(_CHUNK)
        view = memoryview(scratch)
        remaining = size
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as source:
            while remaining:
                count = source.readinto(view[: min(_CHUNK, remaining)])
                if not count:
                    raise EngineError(f"{path} changed while it was being archived")
                self._out.write(view[:count])
                remaining -= count
            if source.read(1):
                raise EngineError(f"{path} changed while it was being archived")

    def close(self) -> None:
        """Write the end-of-archive marker (two zero blocks) and flush."""
        self._buf += bytes(2 * BLOCK)
        self._flush()
