"""Overlay lower layers read without a mount agree with what overlayfs itself shows, and
``changes()`` over a stack of layers matches the same edits on a full copy."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hull.archive import apply_layer, changes
from hull.archive.lowers import MergedLowers
from hull.errors import InvalidArgument
from tests.unit.test_archive_roundtrip import copy_tree, overlay
from tests.unit.test_archive_support import directory, file, make_tar, symlink

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="overlay mounts need root")


def second_layer() -> bytes:
    """A layer over busybox using every overlay rule: whiteouts, an opaque directory, a
    directory replaced by a file and a file replaced by a directory."""
    return make_tar([
        directory("etc"),
        file("etc/.wh.hostname"),
        file("etc/motd", b"hello\n"),
        directory("usr/bin"),
        file("usr/bin/.wh..wh..opq"),
        file("usr/bin/only-in-layer-2", b"#!/bin/sh\n", mode=0o755),
        directory("var"),
        file("var/www", b"now a file"),
        directory("etc/group"),
        file("etc/group/inside", b"x"),
        directory("lib"),
        symlink("lib/link", "../etc/motd"),
    ])


@pytest.fixture
def layers(tmp_path: Path, busybox_tar: Path) -> list[Path]:
    """Two overlay layer directories, top-most first."""
    bottom, top = tmp_path / "layer1", tmp_path / "layer2"
    bottom.mkdir()
    top.mkdir()
    with open(busybox_tar, "rb") as f:
        apply_layer(f, str(bottom), "overlay")
    apply_layer(io.BytesIO(second_layer()), str(top), "overlay")
    return [top, bottom]


@pytest.fixture
def flat(tmp_path: Path, busybox_tar: Path) -> Path:
    """The same two layers applied into one full tree."""
    path = tmp_path / "flat"
    path.mkdir()
    with open(busybox_tar, "rb") as f:
        apply_layer(f, str(path), "delete")
    apply_layer(io.BytesIO(second_layer()), str(path), "delete")
    return path


@contextmanager
def read_only_view(layers: list[Path], mountpoint: Path) -> Iterator[Path]:
    mountpoint.mkdir()
    lowerdir = ":".join(str(layer) for layer in layers)
    result = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", f"lowerdir={lowerdir}",
                             str(mountpoint)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"overlay mount failed: {result.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)


def every_path(listdir, rel: str = "") -> set[str]:  # type: ignore[no-untyped-def]
    found: set[str] = set()
    for name, is_dir in listdir(rel):
        path = f"{rel}/{name}" if rel else name
        found.add(path)
        if is_dir:
            found |= every_path(listdir, path)
    return found


def test_merged_lowers_show_what_overlayfs_shows(tmp_path: Path, layers: list[Path]) -> None:
    merged = MergedLowers([str(layer) for layer in layers])

    def unmounted(rel: str) -> list[tuple[str, bool]]:
        prefix = f"{rel}/" if rel else ""
        return [(name, _is_dir(merged, prefix + name)) for name in merged.listdir(rel)]

    with read_only_view(layers, tmp_path / "view") as view:
        def mounted(rel: str) -> list[tuple[str, bool]]:
            base = view / rel
            return [(name, (base / name).is_dir() and not (base / name).is_symlink())
                    for name in os.listdir(base)]

        expected = every_path(mounted)
        modes = {rel: os.lstat(view / rel).st_mode for rel in expected}
    assert every_path(unmounted) == expected
    assert {rel: merged.lstat(rel).st_mode for rel in expected} == modes  # type: ignore[union-attr]
    assert not merged.exists("etc/hostname")  # whited out
    assert not merged.exists("usr/bin/wget")  # hidden by the opaque directory
    assert not merged.exists("var/www/index.html")  # below a directory that became a file


def _is_dir(merged: MergedLowers, rel: str) -> bool:
    st = merged.lstat(rel)
    return st is not None and (st.st_mode & 0o170000) == 0o040000


def container_edits(root: Path) -> None:
    with open(root / "etc" / "motd", "ab") as f:  # a file from the top layer
        f.write(b"more\n")
    (root / "etc" / "hostname").write_bytes(b"back\n")  # whited out below: added again
    os.unlink(root / "usr" / "bin" / "only-in-layer-2")
    shutil.rmtree(root / "usr" / "sbin")  # from the bottom layer
    (root / "usr" / "sbin").mkdir()  # recreated: opaque in the upperdir
    (root / "usr" / "sbin" / "new").write_bytes(b"n")
    (root / "bin" / "busybox").chmod(0o700)


def test_changes_over_a_layer_stack_match_a_full_copy(tmp_path: Path, layers: list[Path],
                                                      flat: Path) -> None:
    upper, work, merged = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    lowerdir = ":".join(str(layer) for layer in layers)
    merged.mkdir()
    upper.mkdir()
    work.mkdir()
    result = subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o",
         f"lowerdir={lowerdir},upperdir={upper},workdir={work},redirect_dir=off,index=off",
         str(merged)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"overlay mount failed: {result.stderr.strip()}")
    try:
        container_edits(merged)
    finally:
        subprocess.run(["umount", str(merged)], check=True)
    copy = copy_tree(flat, tmp_path / "copy")
    container_edits(copy)

    stacked = changes([str(layer) for layer in layers], str(upper), overlay=True)
    assert stacked == changes(str(flat), str(copy), overlay=False)
    kinds = {path: kind for kind, path in stacked}
    assert kinds["/etc/hostname"] == "A"
    assert kinds["/etc/motd"] == "C"
    assert kinds["/usr/bin/only-in-layer-2"] == "D"
    assert kinds["/usr/sbin/new"] == "A"
    assert not any(path.startswith("/usr/bin/") and path != "/usr/bin/only-in-layer-2"
                   for path in kinds)  # busybox's applets were already hidden below


def test_a_single_layer_directory_is_read_with_overlay_rules(tmp_path: Path,
                                                           layers: list[Path]) -> None:
    upper, work, merged = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    with overlay(layers[0], upper, work, merged):
        (merged / "etc" / "hostname").write_bytes(b"x")  # a whiteout in the lower layer
    assert changes(str(layers[0]), str(upper), overlay=True) == [
        ("C", "/etc"), ("A", "/etc/hostname")]


def test_several_lowers_need_overlay_mode(tmp_path: Path, layers: list[Path]) -> None:
    with pytest.raises(InvalidArgument):
        changes([str(layer) for layer in layers], str(tmp_path), overlay=False)
