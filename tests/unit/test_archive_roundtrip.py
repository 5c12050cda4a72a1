"""Round trips through real overlay mounts: change a container's view, export the change as
a layer, apply it elsewhere, and see the same tree."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hull.archive import apply_layer, changes, write_overlay_diff, write_tree_diff
from tests.unit.test_archive_support import describe

CAPABILITY = struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0)
OVERLAY_OPTIONS = "redirect_dir=off,metacopy=off,index=off"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="overlay mounts need root")


@contextmanager
def overlay(lower: Path, upper: Path, work: Path, merged: Path) -> Iterator[Path]:
    """Mount an overlay, always unmounting it again."""
    for d in (upper, work, merged):
        d.mkdir(exist_ok=True)
    options = f"lowerdir={lower},upperdir={upper},workdir={work},{OVERLAY_OPTIONS}"
    result = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"overlay mount failed: {result.stderr.strip()}")
    try:
        yield merged
    finally:
        subprocess.run(["umount", str(merged)], check=True)


def make_changes(root: Path) -> None:
    """What a container or build step might do to a busybox tree."""
    (root / "etc" / "newfile").write_bytes(b"brand new\n")
    os.chown(root / "etc" / "newfile", 33, 33)
    os.chmod(root / "etc" / "newfile", 0o640)
    os.setxattr(root / "etc" / "newfile", "user.comment", b"added in a layer")
    os.link(root / "etc" / "newfile", root / "etc" / "newfile-link")
    with open(root / "etc" / "passwd", "ab") as f:  # modify
        f.write(b"app:x:1000:1000::/home/app:/bin/sh\n")
    os.chmod(root / "etc" / "group", 0o600)  # metadata only
    os.unlink(root / "bin" / "ls")  # delete a symlink
    shutil.rmtree(root / "home")  # delete a directory
    shutil.rmtree(root / "usr" / "bin")  # remove and recreate: overlay marks it opaque
    (root / "usr" / "bin").mkdir()
    (root / "usr" / "bin" / "only-new").write_bytes(b"#!/bin/sh\necho new\n")
    os.chmod(root / "usr" / "bin" / "only-new", 0o755)
    (root / "var" / "new" / "sub").mkdir(parents=True)
    (root / "var" / "new" / "sub" / "f").write_bytes(b"deep")
    shutil.rmtree(root / "var" / "www")  # a directory becomes a file
    (root / "var" / "www").write_bytes(b"not a dir any more")
    os.unlink(root / "etc" / "hostname")  # a file becomes a directory
    (root / "etc" / "hostname").mkdir(mode=0o700)
    (root / "etc" / "hostname" / "inside").write_bytes(b"x")
    (root / "bin" / "suid").write_bytes(b"#!/bin/sh\n")
    os.chmod(root / "bin" / "suid", 0o4755)
    os.setxattr(root / "bin" / "suid", "security.capability", CAPABILITY)
    (root / "var" / "sticky").mkdir()
    os.chmod(root / "var" / "sticky", 0o1777)
    (root / "etc" / "link").symlink_to("../etc/passwd")
    os.mkfifo(root / "tmp" / "fifo")
    os.mknod(root / "dev" / "null", 0o666 | 0o020000, os.makedev(1, 3))
    (root / "var" / "log" / ("long-" + "x" * 200)).write_bytes(b"long name")
    (root / "tmp" / "ünïcödé").write_bytes(b"unicode")
    os.utime(root / "etc" / "passwd", ns=(1_650_000_000_500_000_000, 1_650_000_000_500_000_000))


@pytest.fixture
def lower(tmp_path: Path, busybox_tar: Path) -> Path:
    path = tmp_path / "lower"
    path.mkdir()
    with open(busybox_tar, "rb") as f:
        apply_layer(f, str(path), "delete")
    return path


def copy_tree(src: Path, dst: Path) -> Path:
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)
    return dst


def without_root(tree: dict[str, tuple]) -> dict[str, tuple]:
    return {k: v for k, v in tree.items() if k != "."}


def test_overlay_diff_round_trip(tmp_path: Path, lower: Path) -> None:
    upper, work, merged = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    with overlay(lower, upper, work, merged):
        make_changes(merged)
        expected = describe(str(merged))
    assert os.getxattr(upper / "usr" / "bin", "trusted.overlay.opaque") == b"y"
    layer = io.BytesIO()
    write_overlay_diff(str(upper), layer)

    # The copying snapshotter's way: a copy of the parent, whiteouts delete.
    copy = copy_tree(lower, tmp_path / "copy")
    apply_layer(io.BytesIO(layer.getvalue()), str(copy), "delete")
    assert without_root(describe(str(copy))) == without_root(expected)

    # The overlay snapshotter's way: a fresh upperdir, whiteouts as overlay wants them.
    upper2, work2, merged2 = tmp_path / "upper2", tmp_path / "work2", tmp_path / "merged2"
    upper2.mkdir()
    apply_layer(io.BytesIO(layer.getvalue()), str(upper2), "overlay")
    with overlay(lower, upper2, work2, merged2):
        assert without_root(describe(str(merged2))) == without_root(expected)


def test_tree_diff_round_trip(tmp_path: Path, lower: Path) -> None:
    changed = copy_tree(lower, tmp_path / "changed")
    make_changes(changed)
    layer = io.BytesIO()
    write_tree_diff(str(lower), str(changed), layer)

    target = copy_tree(lower, tmp_path / "target")
    apply_layer(io.BytesIO(layer.getvalue()), str(target), "delete")
    assert without_root(describe(str(target))) == without_root(describe(str(changed)))

    upper, work, merged = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    upper.mkdir()
    apply_layer(io.BytesIO(layer.getvalue()), str(upper), "overlay")
    with overlay(lower, upper, work, merged):
        assert without_root(describe(str(merged))) == without_root(describe(str(changed)))


def test_tree_diff_of_identical_trees_is_empty(tmp_path: Path, lower: Path) -> None:
    copy = copy_tree(lower, tmp_path / "copy")
    layer = io.BytesIO()
    write_tree_diff(str(lower), str(copy), layer)
    assert layer.getvalue() == bytes(1024)
    assert changes(str(lower), str(copy), overlay=False) == []


def test_tree_diff_writes_parents_of_deep_changes(tmp_path: Path, lower: Path) -> None:
    from hull.archive.reader import TarReader

    changed = copy_tree(lower, tmp_path / "changed")
    os.utime(changed / "usr" / "sbin", None)  # untouched dirs keep their mtimes...
    with open(changed / "etc" / "passwd", "ab") as f:  # ...and a file changes below one
        f.write(b"x\n")
    layer = io.BytesIO()
    write_tree_diff(str(lower), str(changed), layer)
    names = [e.name for e in TarReader(io.BytesIO(layer.getvalue()))]
    assert names == ["etc/", "etc/passwd", "usr/", "usr/sbin/"]


def test_changes_like_docker_diff(tmp_path: Path, lower: Path) -> None:
    upper, work, merged = tmp_path / "upper", tmp_path / "work", tmp_path / "merged"
    with overlay(lower, upper, work, merged):
        make_changes(merged)
    overlay_changes = changes(str(lower), str(upper), overlay=True)
    changed = copy_tree(lower, tmp_path / "changed")
    make_changes(changed)
    tree_changes = changes(str(lower), str(changed), overlay=False)

    for found in (overlay_changes, tree_changes):
        assert [p for _, p in found] == sorted(p for _, p in found)
        kinds = dict((p, k) for k, p in found)
        assert kinds["/etc/newfile"] == "A"
        assert kinds["/etc/passwd"] == "C"
        assert kinds["/etc/group"] == "C"
        assert kinds["/bin/ls"] == "D"
        assert kinds["/home"] == "D"
        assert not any(p.startswith("/home/") for p in kinds)  # one D for a deleted tree
        assert kinds["/usr/bin/only-new"] == "A"
        assert kinds["/usr/bin/wget"] == "D"  # hidden by the recreated directory
        assert kinds["/var/new"] == "A" and kinds["/var/new/sub/f"] == "A"
        assert kinds["/var/www"] == "C" and kinds["/etc/hostname"] == "C"
        assert "/bin/sh" not in kinds and "/etc/profile" not in kinds
    assert dict((p, k) for k, p in overlay_changes)["/etc"] == "C"  # copied-up parent
    everything = changes(None, str(lower), overlay=False)
    assert ("A", "/bin/busybox") in everything and all(k == "A" for k, _ in everything)
