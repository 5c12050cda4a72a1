"""Diff writers on hand-made upperdirs and trees: what exactly goes into the layer."""

from __future__ import annotations

import io
import os
import socket
from pathlib import Path

import pytest

from hull.archive import write_overlay_diff, write_tree, write_tree_diff
from hull.archive.reader import TarReader
from hull.archive.tarformat import TarEntry
from hull.errors import EngineError, NotFound


def entries(write, *args: str) -> list[TarEntry]:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    write(*args, out)
    return list(TarReader(io.BytesIO(out.getvalue())))


def whiteout_dev(path: Path) -> None:
    os.mknod(path, 0o020000, os.makedev(0, 0))


def test_overlay_whiteouts_and_opaque_markers(tmp_path: Path) -> None:
    upper = tmp_path / "upper"
    (upper / "etc").mkdir(parents=True)
    whiteout_dev(upper / "etc" / "gone")
    (upper / "etc" / "new").write_bytes(b"n")
    (upper / "usr").mkdir()
    os.setxattr(upper / "usr", "trusted.overlay.opaque", b"y")
    (upper / "usr" / "only").write_bytes(b"o")
    found = entries(write_overlay_diff, str(upper))
    assert [e.name for e in found] == ["etc/", "etc/.wh.gone", "etc/new", "usr/",
                                      "usr/.wh..wh..opq", "usr/only"]
    by_name = {e.name: e for e in found}
    for marker in ("etc/.wh.gone", "usr/.wh..wh..opq"):
        e = by_name[marker]
        assert (e.type, e.size, e.mode, e.uid, e.gid, e.mtime_ns) == ("0", 0, 0o600, 0, 0, 0)
    assert by_name["usr/"].xattrs == {}  # overlay's own xattr is not part of the layer


@pytest.mark.parametrize("xattr", ["trusted.overlay.redirect", "trusted.overlay.metacopy"])
def test_overlay_diff_refuses_redirect_and_metacopy(tmp_path: Path, xattr: str) -> None:
    upper = tmp_path / "upper"
    (upper / "moved").mkdir(parents=True)
    target = upper / "moved"
    if xattr.endswith("metacopy"):
        target = upper / "moved" / "file"
        target.write_bytes(b"")
    os.setxattr(target, xattr, b"/elsewhere" if xattr.endswith("redirect") else b"")
    with pytest.raises(EngineError, match="redirect_dir=off,metacopy=off"):
        write_overlay_diff(str(upper), io.BytesIO())


def test_sockets_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "file").write_bytes(b"f")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(root / "sock"))
        assert [e.name for e in entries(write_tree, str(root))] == ["file"]


def test_tree_diff_whiteouts_sort_where_the_deleted_name_was(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    for root in (lower, upper):
        (root / "d").mkdir(parents=True)
    for name in ("a", "m", "z"):
        (lower / "d" / name).write_bytes(b"x")
    (upper / "d" / "a").write_bytes(b"changed!")
    (upper / "d" / "z").write_bytes(b"x")
    os.utime(upper / "d", ns=(0, os.stat(lower / "d").st_mtime_ns))
    os.utime(upper / "d" / "z", ns=(0, os.stat(lower / "d" / "z").st_mtime_ns))
    names = [e.name for e in entries(write_tree_diff, str(lower), str(upper))]
    assert names == ["d/", "d/a", "d/.wh.m"]


def test_tree_diff_with_no_lower_is_the_whole_tree(tmp_path: Path) -> None:
    (tmp_path / "t" / "x").mkdir(parents=True)
    (tmp_path / "t" / "x" / "f").write_bytes(b"f")
    whole = io.BytesIO()
    write_tree(str(tmp_path / "t"), whole)
    diff = io.BytesIO()
    write_tree_diff(None, str(tmp_path / "t"), diff)
    assert diff.getvalue() == whole.getvalue()


def test_missing_directories_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        write_tree(str(tmp_path / "nope"), io.BytesIO())
    with pytest.raises(NotFound, match="lower directory"):
        write_tree_diff(str(tmp_path / "nope"), str(tmp_path), io.BytesIO())
