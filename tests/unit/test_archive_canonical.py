"""Canonical tars: the same content always gives the same bytes, readable by other tools."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from hull.archive import apply_layer, write_tree
from hull.archive.reader import TarReader
from hull.archive.tarformat import TarEntry, encode_header, parse_header


def tar_of(root: Path) -> bytes:
    out = io.BytesIO()
    write_tree(str(root), out)
    return out.getvalue()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "b" / "nested").mkdir(parents=True)
    (root / "a.d").mkdir()
    (root / "b" / "nested" / "file").write_bytes(b"nested\n")
    (root / "b" / "z").write_bytes(os.urandom(3 << 20))  # larger than one buffer
    (root / "a.d" / "conf").write_bytes(b"conf")
    (root / "top").write_bytes(b"top")
    os.chown(root / "top", 1234, 5678)
    os.chmod(root / "top", 0o4755)  # after chown, which clears setuid
    os.link(root / "top", root / "b" / "top-link")
    (root / "sym").symlink_to("b/nested/file")
    os.mkfifo(root / "fifo")
    os.mknod(root / "null", 0o666 | 0o020000, os.makedev(1, 3))
    os.setxattr(root / "top", "user.zeta", b"z")
    os.setxattr(root / "top", "user.alpha", b"a")
    (root / ("long-" + "n" * 150)).write_bytes(b"long")
    (root / "ünïcödé").write_bytes(b"u")
    os.utime(root / "top", ns=(1_600_000_000_123_456_789, 1_700_000_000_987_654_321))
    return root


def test_same_tree_same_bytes(tree: Path) -> None:
    assert digest(tar_of(tree)) == digest(tar_of(tree))


def test_reading_files_and_touching_atime_changes_nothing(tree: Path) -> None:
    before = digest(tar_of(tree))
    for path in tree.rglob("*"):
        if path.is_file() and not path.is_symlink():
            path.read_bytes()
            st = os.lstat(path)
            os.utime(path, ns=(time.time_ns(), st.st_mtime_ns))
    assert digest(tar_of(tree)) == before


def test_a_cp_a_copy_gives_the_same_digest(tree: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(tree), str(copy)], check=True)
    assert digest(tar_of(copy)) == digest(tar_of(tree))


def test_extracting_and_retarring_is_stable(tree: Path, tmp_path: Path) -> None:
    first = tar_of(tree)
    again = tmp_path / "again"
    again.mkdir()
    apply_layer(io.BytesIO(first), str(again), "delete")
    assert digest(tar_of(again)) == digest(first)


def test_entries_are_sorted_with_dirs_before_contents(tree: Path) -> None:
    names = [e.name for e in TarReader(io.BytesIO(tar_of(tree)))]
    assert names[:7] == ["a.d/", "a.d/conf", "b/", "b/nested/", "b/nested/file", "b/top-link",
                         "b/z"]
    assert names == sorted(names, key=lambda n: [p.encode() for p in n.rstrip("/").split("/")])


def test_hardlinks_point_at_the_first_path(tree: Path) -> None:
    entries = {e.name: e for e in TarReader(io.BytesIO(tar_of(tree)))}
    assert entries["b/top-link"].type == "0"  # first in sorted order: written with content
    assert entries["top"].type == "1" and entries["top"].linkname == "b/top-link"


def test_headers_are_canonical(tree: Path) -> None:
    data = tar_of(tree)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        top = members["b/top-link"]
        assert (top.uid, top.gid, top.mode) == (1234, 5678, 0o4755)
        assert top.uname == "" and top.gname == ""
        assert top.mtime == 1_700_000_000  # sub-second part clamped
        assert list(top.pax_headers) == ["SCHILY.xattr.user.alpha", "SCHILY.xattr.user.zeta"]
        for member in members.values():
            assert "atime" not in member.pax_headers and "ctime" not in member.pax_headers
        assert members["null"].ischr() and (members["null"].devmajor,
                                            members["null"].devminor) == (1, 3)
        assert members["fifo"].isfifo()
        assert members["sym"].linkname == "b/nested/file"
        assert members["ünïcödé"].isfile()
        assert members["long-" + "n" * 150].size == 4
    assert data.endswith(bytes(1024))
    assert len(data) % 512 == 0


def test_gnu_tar_lists_our_output(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.tar"
    out.write_bytes(tar_of(tree))
    listing = subprocess.run(["tar", "-tvf", str(out)], capture_output=True, text=True,
                             check=True)
    assert "b/nested/file" in listing.stdout
    assert "long-" + "n" * 150 in listing.stdout
    assert "top link to b/top-link" in listing.stdout


def test_header_encoding_round_trips_big_values() -> None:
    entry = TarEntry(name="f", type="0", mode=0o755, uid=3_000_000, gid=2**40, size=9 << 30,
                     mtime_ns=-5 * 10**9)
    data = encode_header(entry)
    with tarfile.open(fileobj=io.BytesIO(data + bytes(1024)), mode="r|") as tar:
        member = tar.next()
        assert member is not None
        assert (member.uid, member.gid, member.size, member.mtime) == (3_000_000, 2**40,
                                                                       9 << 30, -5)
    raw = parse_header(data[-512:])
    assert raw.name == b"f" and raw.mode == 0o755
