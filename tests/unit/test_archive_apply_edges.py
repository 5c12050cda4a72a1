"""Applying layers at the edges: header values Linux cannot hold, entries replacing
directories whose mtime is set late, and parents created under a strict umask."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from hull.archive.apply import apply_layer
from hull.errors import CorruptArchive
from tests.unit.test_archive_support import directory, file, make_tar, symlink


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "target"
    path.mkdir()
    return path


def _apply(tar: bytes, target: Path, whiteouts: str = "delete") -> int:
    return apply_layer(io.BytesIO(tar), str(target), whiteouts)  # type: ignore[arg-type]


@pytest.mark.parametrize("pax", [
    {"uid": str(2**40)},
    {"gid": str(2**32)},
    {"uid": "-2"},
    {"gid": "-1"},
], ids=["uid-too-big", "gid-too-big", "negative-uid", "gid-minus-one"])
def test_owner_linux_cannot_hold_is_a_corrupt_layer(target: Path, pax: dict[str, str]) -> None:
    with pytest.raises(CorruptArchive) as caught:
        _apply(make_tar([file("f", b"x", pax=pax)]), target)
    message = str(caught.value)
    assert "'f'" in message and "\n" not in message


def test_largest_linux_ids_are_applied(target: Path) -> None:
    top = 2**32 - 2  # (uid_t)-1 means "unchanged" to chown, so this is the largest real id
    _apply(make_tar([file("f", b"x", pax={"uid": str(top), "gid": str(top)})]), target)
    st = os.lstat(target / "f")
    assert (st.st_uid, st.st_gid) == (top, top)


def test_mtime_linux_cannot_hold_is_a_corrupt_layer(target: Path) -> None:
    with pytest.raises(CorruptArchive) as caught:
        _apply(make_tar([file("f", b"x", pax={"mtime": "1" + "0" * 30})]), target)
    assert "'f'" in str(caught.value)


def test_negative_mtime_before_1970_is_applied(target: Path) -> None:
    _apply(make_tar([file("old", b"x", pax={"mtime": "-86400"})]), target)
    assert os.lstat(target / "old").st_mtime == -86400


def test_file_replacing_a_directory_keeps_its_own_mtime(target: Path) -> None:
    _apply(make_tar([
        directory("x", mtime=1_000),
        file("x", b"data", mtime=5_000),
    ]), target)
    st = os.lstat(target / "x")
    assert stat.S_ISREG(st.st_mode) and st.st_mtime == 5_000


def test_symlink_replacing_a_directory_keeps_its_own_mtime(target: Path) -> None:
    _apply(make_tar([
        directory("y", mtime=1_000),
        symlink("y", "/nowhere", mtime=7_000),
    ]), target)
    st = os.lstat(target / "y")
    assert stat.S_ISLNK(st.st_mode) and st.st_mtime == 7_000


def test_directory_recreated_after_a_file_gets_the_last_mtime(target: Path) -> None:
    _apply(make_tar([
        directory("z", mtime=1_000),
        file("z", b"data", mtime=2_000),
        directory("z", mtime=3_000),
        file("z/inner", b"i", mtime=4_000),
    ]), target)
    assert os.lstat(target / "z").st_mtime == 3_000


@pytest.fixture
def strict_umask() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("whiteouts", ["delete", "overlay"])
def test_missing_parents_are_0755_whatever_the_umask(target: Path, strict_umask: None,
                                                     whiteouts: str) -> None:
    _apply(make_tar([file("a/b/c", b"x", mode=0o644), file("w/.wh.gone")]), target, whiteouts)
    for parent in ("a", "a/b"):
        assert stat.S_IMODE(os.lstat(target / parent).st_mode) == 0o755, parent
    assert stat.S_IMODE(os.lstat(target / "a/b/c").st_mode) == 0o644
    if whiteouts == "overlay":
        assert stat.S_IMODE(os.lstat(target / "w").st_mode) == 0o755
