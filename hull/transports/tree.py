"""Read-only access to the files of an image archive: a tar file or a directory."""

from __future__ import annotations

import os
import tarfile
from typing import BinaryIO

from hull.errors import CorruptArchive, NotFound


class FileTree:
    """Named files of an archive (paths relative to its root, ``/``-separated)."""

    def open(self, name: str) -> BinaryIO:
        raise NotImplementedError

    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def size(self, name: str) -> int:
        raise NotImplementedError

    def read(self, name: str, limit: int = 64 << 20) -> bytes:
        with self.open(name) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise CorruptArchive(f"{name} in the archive is too large")
        return data

    def close(self) -> None:
        pass


def _clean(name: str) -> str:
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


class TarTree(FileTree):
    """A seekable, uncompressed tar file."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._tar = tarfile.open(path, "r:")
            self._members = {_clean(m.name): m for m in self._tar.getmembers()}
        except (tarfile.TarError, EOFError, OSError, ValueError) as e:
            raise CorruptArchive(f"{path}: not a valid tar archive ({e})") from None

    def _member(self, name: str) -> tarfile.TarInfo:
        member = self._members.get(_clean(name))
        if member is None:
            raise CorruptArchive(f"the archive has no file {name!r}")
        return member

    def open(self, name: str) -> BinaryIO:
        try:
            f = self._tar.extractfile(self._member(name))
        except (tarfile.TarError, KeyError) as e:
            raise CorruptArchive(f"cannot read {name!r} from the archive: {e}") from None
        if f is None:
            raise CorruptArchive(f"{name!r} in the archive is not a file")
        return f  # type: ignore[return-value]

    def exists(self, name: str) -> bool:
        return _clean(name) in self._members

    def size(self, name: str) -> int:
        member = self._member(name)
        while member.issym() or member.islnk():
            target = member.linkname if member.islnk() else os.path.normpath(
                os.path.join(os.path.dirname(member.name), member.linkname))
            member = self._member(target)
        return member.size

    def close(self) -> None:
        self._tar.close()


class DirTree(FileTree):
    """A directory (e.g. an OCI image layout written by skopeo)."""

    def __init__(self, path: str) -> None:
        if not os.path.isdir(path):
            raise NotFound(f"{path}: no such directory")
        self.path = path

    def _path(self, name: str) -> str:
        clean = os.path.normpath(_clean(name))
        if clean.startswith(".."):
            raise CorruptArchive(f"path {name!r} escapes the archive")
        return os.path.join(self.path, clean)

    def open(self, name: str) -> BinaryIO:
        try:
            return open(self._path(name), "rb")
        except FileNotFoundError:
            raise CorruptArchive(f"the archive has no file {name!r}") from None

    def exists(self, name: str) -> bool:
        return os.path.isfile(self._path(name))

    def size(self, name: str) -> int:
        return os.stat(self._path(name)).st_size
