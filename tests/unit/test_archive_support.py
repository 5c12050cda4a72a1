"""Helpers shared by the archive tests: build tars member by member, describe trees.

(Named like a test module so that it lives with the tests it serves; it holds no tests.)
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass, field

from hull.archive.writer import layer_xattrs, read_xattrs


@dataclass
class Member:
    """One tar member to write with Python's tarfile (which lets tests write any name)."""

    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    mtime: float = 1_700_000_000
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    pax: dict[str, str] = field(default_factory=dict)


def file(name: str, data: bytes = b"", mode: int = 0o644, **kw: object) -> Member:
    return Member(name, tarfile.REGTYPE, data, mode, **kw)  # type: ignore[arg-type]


def directory(name: str, mode: int = 0o755, **kw: object) -> Member:
    return Member(name, tarfile.DIRTYPE, mode=mode, **kw)  # type: ignore[arg-type]


def symlink(name: str, target: str, **kw: object) -> Member:
    return Member(name, tarfile.SYMTYPE, mode=0o777, linkname=target, **kw)  # type: ignore[arg-type]


def hardlink(name: str, target: str, **kw: object) -> Member:
    return Member(name, tarfile.LNKTYPE, linkname=target, **kw)  # type: ignore[arg-type]


def make_tar(members: list[Member], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A tar with exactly these members, in this order, names untouched."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type = m.type
            info.mode = m.mode
            info.uid, info.gid = m.uid, m.gid
            info.mtime = m.mtime
            info.linkname = m.linkname
            info.devmajor, info.devminor = m.devmajor, m.devminor
            info.pax_headers = dict(m.pax)
            info.size = len(m.data)
            tar.addfile(info, io.BytesIO(m.data) if m.data else None)
    return out.getvalue()


def describe(root: str, mtimes: bool = True) -> dict[str, tuple]:
    """What a user would check about every path below ``root``: type, mode, owner, content,
    link target, device, xattrs, mtime (whole seconds) and which files share an inode."""
    found: dict[str, tuple] = {}
    inodes: dict[tuple[int, int], str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            content = None
            link_group = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    content = hashlib.sha256(f.read()).hexdigest()
                if st.st_nlink > 1:
                    link_group = inodes.setdefault((st.st_dev, st.st_ino), rel)
            target = os.readlink(path) if stat.S_ISLNK(st.st_mode) else None
            rdev = st.st_rdev if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else None
            found[rel] = (
                stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                content, target, rdev, tuple(sorted(layer_xattrs(read_xattrs(path)).items())),
                st.st_mtime_ns // 1_000_000_000 if mtimes else None, link_group,
            )
    return found


def snapshot(root: str) -> dict[str, tuple]:
    """A sentinel's state: used to prove an attack changed nothing outside the target."""
    state = describe(root)
    state["."] = (os.lstat(root).st_mode, os.lstat(root).st_mtime_ns)
    return state
