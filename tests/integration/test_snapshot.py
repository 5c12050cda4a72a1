"""Both snapshotters on real mounts: layering, isolation of writes, whiteouts,
read-only views, deep stacks, removal rules and disk usage."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hull.errors import Conflict, InvalidArgument, NotFound
from hull.snapshot import Snapshotter, open_snapshotter
from hull.snapshot.mount import mount_all, mounted, unmount_all
from hull.state.db import Database

BACKENDS = ["overlay", "native"]


@pytest.fixture(params=BACKENDS)
def snapshotter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Snapshotter]:
    db = Database(str(tmp_path / "root" / "hull.db"))
    try:
        yield open_snapshotter(str(tmp_path / "root"), db, request.param)
    finally:
        db.close()


class Targets:
    """Fresh mount targets under a test's tmp dir, all unmounted at the end."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.made: list[Path] = []

    def new(self) -> Path:
        path = self.base / f"mnt{len(self.made)}"
        path.mkdir()
        self.made.append(path)
        return path

    def release(self) -> None:
        for path in self.made:
            unmount_all(str(path), detach=True)


@pytest.fixture
def targets(tmp_path: Path) -> Iterator[Targets]:
    made = Targets(tmp_path)
    try:
        yield made
    finally:
        made.release()


def write(path: str | Path, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Path(path).write_text(text)


def build_layers(s: Snapshotter) -> None:
    """Three committed layers: L1 <- L2 <- L3, each written straight into writable_dir."""
    s.prepare("l1-active")
    d = s.writable_dir("l1-active")
    write(f"{d}/a/one", "1")
    write(f"{d}/shared", "from L1")
    write(f"{d}/doomed", "deleted later")
    s.commit("L1", "l1-active")

    s.prepare("l2-active", "L1")
    d = s.writable_dir("l2-active")
    write(f"{d}/b/two", "2")
    write(f"{d}/shared", "from L2")
    s.commit("L2", "l2-active")

    s.prepare("l3-active", "L2")
    d = s.writable_dir("l3-active")
    write(f"{d}/c/three", "3")
    s.commit("L3", "l3-active")


def tree(path: Path) -> dict[str, str]:
    return {str(p.relative_to(path)): p.read_text()
            for p in sorted(path.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_prepared_snapshot_mounts_the_merged_tree(snapshotter: Snapshotter,
                                                  targets: Targets) -> None:
    build_layers(snapshotter)
    target = targets.new()
    mount_all(snapshotter.prepare("ctr", "L3"), str(target))
    assert mounted(str(target))
    assert tree(target) == {"a/one": "1", "b/two": "2", "c/three": "3",
                            "doomed": "deleted later", "shared": "from L2"}
    info = snapshotter.stat("ctr")
    assert info is not None and info.kind == "active" and info.parent == "L3"
    assert info.backend == snapshotter.name


def test_writes_land_only_in_the_active_snapshot(snapshotter: Snapshotter,
                                                 targets: Targets) -> None:
    build_layers(snapshotter)
    ctr = targets.new()
    mount_all(snapshotter.prepare("ctr", "L3"), str(ctr))
    (ctr / "new").write_text("container")
    (ctr / "shared").write_text("changed")
    unmount_all(str(ctr))

    upper = Path(snapshotter.writable_dir("ctr"))
    assert (upper / "new").read_text() == "container"
    assert (upper / "shared").read_text() == "changed"

    image = targets.new()
    mount_all(snapshotter.view("check", "L3"), str(image))
    assert not (image / "new").exists()
    assert (image / "shared").read_text() == "from L2"

    # a second container on the same image sees none of the first one's changes
    other = targets.new()
    mount_all(snapshotter.prepare("ctr2", "L3"), str(other))
    assert not (other / "new").exists()
    assert (other / "shared").read_text() == "from L2"


def test_deleted_lower_file_stays_hidden(snapshotter: Snapshotter,
                                         targets: Targets) -> None:
    build_layers(snapshotter)
    ctr = targets.new()
    mount_all(snapshotter.prepare("ctr", "L3"), str(ctr))
    (ctr / "doomed").unlink()
    (ctr / "a" / "one").unlink()
    unmount_all(str(ctr))

    again = targets.new()
    mount_all(snapshotter.mounts("ctr"), str(again))
    assert not (again / "doomed").exists()
    assert sorted(os.listdir(again / "a")) == []
    assert (again / "shared").read_text() == "from L2"

    upper = Path(snapshotter.writable_dir("ctr"))
    if snapshotter.whiteout_format == "overlay":
        st = os.lstat(upper / "doomed")  # the whiteout the kernel wrote
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    else:
        assert not (upper / "doomed").exists()

    image = targets.new()
    mount_all(snapshotter.view("image", "L3"), str(image))
    assert (image / "doomed").read_text() == "deleted later"


@pytest.mark.parametrize("parent", ["L1", "L3"], ids=["one-layer", "three-layers"])
def test_view_is_read_only(snapshotter: Snapshotter, targets: Targets,
                           parent: str) -> None:
    build_layers(snapshotter)
    target = targets.new()
    mount_all(snapshotter.view("v", parent), str(target))
    assert (target / "a" / "one").read_text() == "1"
    with pytest.raises(OSError) as raised:
        (target / "written").write_text("no")
    assert raised.value.errno == errno.EROFS
    with pytest.raises(OSError) as raised:
        (target / "shared").unlink()
    assert raised.value.errno == errno.EROFS
    assert snapshotter.stat("v").kind == "view"  # type: ignore[union-attr]
    with pytest.raises(InvalidArgument, match="not active"):
        snapshotter.writable_dir("v")


def test_hundred_layer_stack_mounts(snapshotter: Snapshotter, targets: Targets) -> None:
    parent = None
    for n in range(100):
        snapshotter.prepare(f"layer{n}-active", parent)
        write(os.path.join(snapshotter.writable_dir(f"layer{n}-active"), f"f{n}"), str(n))
        snapshotter.commit(f"layer{n}", f"layer{n}-active")
        parent = f"layer{n}"
    mounts = snapshotter.prepare("top", "layer99")
    if snapshotter.name == "overlay":
        data = ",".join(mounts[0].options)
        assert data.count(":") == 99
        assert len(data) > 4096, "the test must exceed overlay's one-page option limit"
    target = targets.new()
    mount_all(mounts, str(target))
    assert sorted(os.listdir(target)) == sorted(f"f{n}" for n in range(100))
    assert (target / "f0").read_text() == "0" and (target / "f99").read_text() == "99"
    (target / "f0").write_text("top")
    assert (Path(snapshotter.writable_dir("top")) / "f0").read_text() == "top"

    view = targets.new()
    mount_all(snapshotter.view("top-view", "layer99"), str(view))
    assert len(os.listdir(view)) == 100


def test_remove_refuses_while_children_exist(snapshotter: Snapshotter) -> None:
    build_layers(snapshotter)
    snapshotter.prepare("ctr", "L3")
    snapshotter.view("v", "L3")
    with pytest.raises(Conflict, match=r"'L3' has children: ctr, v"):
        snapshotter.remove("L3")
    with pytest.raises(Conflict, match=r"'L1' has children: L2"):
        snapshotter.remove("L1")
    upper = snapshotter.writable_dir("ctr")
    snapshotter.remove("ctr")
    snapshotter.remove("v")
    assert not os.path.exists(upper)
    for key in ("L3", "L2", "L1"):
        snapshotter.remove(key)
    assert snapshotter.walk() == []
    with pytest.raises(NotFound):
        snapshotter.remove("L1")


def test_bad_requests_get_clear_errors(snapshotter: Snapshotter) -> None:
    build_layers(snapshotter)
    snapshotter.prepare("ctr", "L3")
    with pytest.raises(Conflict, match="'ctr' already exists"):
        snapshotter.prepare("ctr", "L3")
    with pytest.raises(NotFound, match="parent snapshot 'nope' does not exist"):
        snapshotter.prepare("x", "nope")
    with pytest.raises(InvalidArgument, match="'ctr' is active, not committed"):
        snapshotter.prepare("x", "ctr")
    with pytest.raises(InvalidArgument, match="only active snapshots can be committed"):
        snapshotter.commit("L9", "L3")
    with pytest.raises(Conflict, match="'L1' already exists"):
        snapshotter.commit("L1", "ctr")
    with pytest.raises(InvalidArgument, match="invalid snapshot key"):
        snapshotter.prepare("")
    assert snapshotter.stat("x") is None
    assert sorted(i.key for i in snapshotter.walk()) == ["L1", "L2", "L3", "ctr"]


def test_commit_keeps_the_tree_and_drops_overlay_workdir(snapshotter: Snapshotter,
                                                        targets: Targets) -> None:
    build_layers(snapshotter)
    mounts = snapshotter.prepare("ctr", "L3")
    target = targets.new()
    mount_all(mounts, str(target))
    (target / "made").write_text("in container")
    unmount_all(str(target))
    upper = snapshotter.writable_dir("ctr")
    snapshotter.commit("L4", "ctr")
    assert snapshotter.stat("ctr") is None
    assert snapshotter.stat("L4").kind == "committed"  # type: ignore[union-attr]
    assert not os.path.exists(os.path.join(os.path.dirname(upper), "work"))
    child = targets.new()
    mount_all(snapshotter.prepare("next", "L4"), str(child))
    assert (child / "made").read_text() == "in container"
    assert (child / "c" / "three").read_text() == "3"


def test_usage_counts_own_bytes_and_hardlinks_once(snapshotter: Snapshotter) -> None:
    snapshotter.prepare("base-active")
    d = snapshotter.writable_dir("base-active")
    write(f"{d}/data", "x" * 10_000)
    os.link(f"{d}/data", f"{d}/data-link")
    os.symlink("data", f"{d}/data-symlink")  # 4 bytes: its target's length
    assert snapshotter.usage("base-active") == 10_004
    snapshotter.commit("base", "base-active")
    assert snapshotter.usage("base") == 10_004

    snapshotter.prepare("top", "base")
    write(f"{snapshotter.writable_dir('top')}/more", "y" * 500)
    own = 500 if snapshotter.name == "overlay" else 10_504  # native holds a full copy
    assert snapshotter.usage("top") == own
    with pytest.raises(NotFound):
        snapshotter.usage("missing")


def test_busybox_tree_runs_from_a_prepared_snapshot(snapshotter: Snapshotter,
                                                    targets: Targets,
                                                    busybox_tar: Path) -> None:
    snapshotter.prepare("busybox-active")
    unpack_into = snapshotter.writable_dir("busybox-active")
    subprocess.run(["tar", "-xf", str(busybox_tar), "-C", unpack_into], check=True)
    snapshotter.commit("busybox", "busybox-active")
    target = targets.new()
    mount_all(snapshotter.prepare("ctr", "busybox"), str(target))
    out = subprocess.run(["chroot", str(target), "/bin/sh", "-c", "echo hi > /tmp/x; cat /tmp/x"],
                         capture_output=True, text=True, check=True)
    assert out.stdout == "hi\n"
    assert (Path(snapshotter.writable_dir("ctr")) / "tmp" / "x").read_text() == "hi\n"
    assert os.readlink(target / "bin" / "sh") == "/bin/busybox"
