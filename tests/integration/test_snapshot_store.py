"""Snapshotter bookkeeping: backend choice per root, concurrent id allocation,
crash leftovers and what the native copy keeps."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hull.errors import Conflict, EngineError, InvalidArgument
from hull.snapshot import open_snapshotter
from hull.snapshot.base import Mount
from hull.snapshot.common import DirectorySnapshotter, Staging
from hull.snapshot.mount import mount_all, unmount_all
from hull.state.db import Database

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(str(tmp_path / "root" / "hull.db"))
    try:
        yield database
    finally:
        database.close()


def recorded_backend(db: Database) -> str:
    return db.query_one("SELECT value FROM settings WHERE name = 'snapshotter'")[0]


def test_automatic_choice_is_overlay_and_sticks(tmp_path: Path, db: Database) -> None:
    root = str(tmp_path / "root")
    assert open_snapshotter(root, db).name == "overlay"
    assert recorded_backend(db) == "overlay"
    assert open_snapshotter(root, db).name == "overlay"
    assert open_snapshotter(root, db, "overlay").name == "overlay"
    with pytest.raises(Conflict, match="uses the overlay snapshotter; it cannot be opened with "
                                       "native"):
        open_snapshotter(root, db, "native")
    # the probe mount left nothing behind
    assert os.listdir(os.path.join(root, "snapshots")) == ["overlay"]


def test_forced_native_is_recorded(tmp_path: Path, db: Database) -> None:
    root = str(tmp_path / "root")
    assert open_snapshotter(root, db, "native").name == "native"
    assert open_snapshotter(root, db).name == "native"
    with pytest.raises(Conflict, match="uses the native snapshotter"):
        open_snapshotter(root, db, "overlay")


def test_unknown_backend_is_refused(tmp_path: Path, db: Database) -> None:
    with pytest.raises(InvalidArgument, match="unknown snapshotter 'zfs'"):
        open_snapshotter(str(tmp_path / "root"), db, "zfs")


def test_root_on_overlay_falls_back_to_native(tmp_path: Path) -> None:
    """Overlay cannot be an upperdir, so a root inside an overlay mount gets native."""
    layers = {name: tmp_path / name for name in ("lower", "upper", "work", "merged")}
    for path in layers.values():
        path.mkdir()
    options = (f"lowerdir={layers['lower']}", f"upperdir={layers['upper']}",
               f"workdir={layers['work']}")
    mount_all([Mount("overlay", "overlay", options)], str(layers["merged"]))
    try:
        for name, expected in (("auto", "native"), ("explicit", "overlay")):
            root = str(layers["merged"] / name)
            database = Database(os.path.join(root, "hull.db"))
            try:
                if name == "auto":
                    assert open_snapshotter(root, database).name == "native"
                    assert recorded_backend(database) == "native"
                else:
                    with pytest.raises(EngineError, match="overlay snapshotter cannot be used"):
                        open_snapshotter(root, database, expected)
            finally:
                database.close()
    finally:
        unmount_all(str(layers["merged"]))


PREPARER = textwrap.dedent("""
    import os, sys, time
    from hull.snapshot import open_snapshotter
    from hull.state.db import Database
    root, tag = sys.argv[1:]
    while not os.path.exists(os.path.join(root, "go")):
        time.sleep(0.001)
    db = Database(os.path.join(root, "hull.db"))
    snapshotter = open_snapshotter(root, db)
    for n in range(20):
        snapshotter.prepare(f"{tag}-{n}", "base")
""")


@pytest.mark.parametrize("backend", ["overlay", "native"])
def test_concurrent_prepares_get_distinct_ids(tmp_path: Path, db: Database,
                                              backend: str) -> None:
    root = str(tmp_path / "root")
    snapshotter = open_snapshotter(root, db, backend)
    snapshotter.prepare("base-active")
    Path(snapshotter.writable_dir("base-active"), "file").write_text("base")
    snapshotter.commit("base", "base-active")

    workers = [subprocess.Popen([sys.executable, "-c", PREPARER, root, tag], cwd=REPO,
                                stderr=subprocess.PIPE, text=True) for tag in ("a", "b")]
    Path(root, "go").touch()
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err

    rows = db.query("SELECT key, id FROM snapshots WHERE key != 'base'")
    assert len(rows) == 40
    assert len({row["id"] for row in rows}) == 40
    dirs = {snapshotter.writable_dir(row["key"]) for row in rows}
    assert len(dirs) == 40
    for directory in dirs:
        assert os.path.isdir(directory)
        if backend == "native":
            assert Path(directory, "file").read_text() == "base"


@pytest.mark.parametrize("backend", ["overlay", "native"])
def test_cleanup_repairs_what_crashes_leave(tmp_path: Path, db: Database, backend: str) -> None:
    snapshotter = open_snapshotter(str(tmp_path / "root"), db, backend)
    assert isinstance(snapshotter, DirectorySnapshotter)
    snapshotter.prepare("keep-active")
    Path(snapshotter.writable_dir("keep-active"), "kept").write_text("yes")
    snapshotter.commit("keep", "keep-active")
    child = snapshotter.prepare("child", "keep")
    del child

    # crash after the row was deleted, before the directory went
    snapshotter.prepare("gone")
    gone_dir = os.path.dirname(snapshotter.writable_dir("gone"))
    db.execute("DELETE FROM snapshots WHERE key = 'gone'")
    # crash inside a prepare transaction: directory made, row and id rolled back
    next_id = int(db.query_one("SELECT value FROM settings WHERE name = 'snapshot_last_id'")[0]) + 1
    crashed_dir = snapshotter.snapshot_dir(next_id)
    os.makedirs(os.path.join(crashed_dir, "fs"))
    # a native copy whose process died
    stale_copy = os.path.join(snapshotter.home, "tmp-dead")
    os.makedirs(os.path.join(stale_copy, "fs", "etc"))

    # the leftover id is skipped, not reused
    snapshotter.prepare("after-crash")
    assert os.path.dirname(snapshotter.writable_dir("after-crash")) != crashed_dir

    removed = snapshotter.cleanup()
    assert sorted(removed) == sorted([gone_dir, crashed_dir, stale_copy])
    for path in removed:
        assert not os.path.exists(path)
    assert sorted(os.listdir(snapshotter.home)) == sorted(
        str(snapshotter.table.require(key).id) for key in ("keep", "child", "after-crash"))
    assert Path(snapshotter.fs_dir(snapshotter.table.require("keep").id), "kept").exists()
    assert snapshotter.cleanup() == []


def test_cleanup_keeps_a_copy_in_progress(tmp_path: Path, db: Database) -> None:
    snapshotter = open_snapshotter(str(tmp_path / "root"), db, "native")
    assert isinstance(snapshotter, DirectorySnapshotter)
    staging = Staging(snapshotter.home)
    try:
        assert snapshotter.cleanup() == []
        assert os.path.isdir(staging.path)
    finally:
        staging.close()
    assert not os.path.exists(staging.path)


def test_native_copy_keeps_owners_modes_xattrs_devices_and_hardlinks(
        tmp_path: Path, db: Database) -> None:
    snapshotter = open_snapshotter(str(tmp_path / "root"), db, "native")
    snapshotter.prepare("base-active")
    d = snapshotter.writable_dir("base-active")
    Path(d, "owned").write_text("data")
    os.chown(f"{d}/owned", 1234, 5678)
    os.chmod(f"{d}/owned", 0o4750)
    os.setxattr(f"{d}/owned", "user.note", b"kept")
    os.setxattr(f"{d}/owned", "trusted.note", b"root-only")
    os.utime(f"{d}/owned", (1_600_000_000, 1_600_000_000))
    os.mknod(f"{d}/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mkfifo(f"{d}/fifo")
    os.link(f"{d}/owned", f"{d}/hardlink")
    os.symlink("/owned", f"{d}/symlink")
    os.mkdir(f"{d}/sticky", 0o1777)
    os.chmod(f"{d}/sticky", 0o1777)
    snapshotter.commit("base", "base-active")

    started = time.perf_counter()
    snapshotter.prepare("copy", "base")
    assert time.perf_counter() - started < 5
    c = snapshotter.writable_dir("copy")
    st = os.lstat(f"{c}/owned")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1234, 5678, 0o4750)
    assert st.st_mtime == 1_600_000_000
    assert os.getxattr(f"{c}/owned", "user.note") == b"kept"
    assert os.getxattr(f"{c}/owned", "trusted.note") == b"root-only"
    assert os.lstat(f"{c}/hardlink").st_ino == st.st_ino
    assert st.st_ino != os.lstat(f"{d}/owned").st_ino  # a copy, not the parent's inode
    null = os.lstat(f"{c}/null")
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3)
    assert stat.S_ISFIFO(os.lstat(f"{c}/fifo").st_mode)
    assert os.readlink(f"{c}/symlink") == "/owned"
    assert stat.S_IMODE(os.lstat(f"{c}/sticky").st_mode) == 0o1777
    # changing the copy leaves the committed parent alone
    Path(c, "owned").write_text("changed")
    assert Path(snapshotter.fs_dir(snapshotter.table.require("base").id), "owned").read_text() \
        == "data"


@pytest.mark.parametrize("backend", ["overlay", "native"])
def test_remove_inside_a_rolled_back_transaction_keeps_the_snapshot(
        tmp_path: Path, db: Database, backend: str) -> None:
    snapshotter = open_snapshotter(str(tmp_path / "root"), db, backend)
    assert isinstance(snapshotter, DirectorySnapshotter)
    snapshotter.prepare("layer-active")
    Path(snapshotter.writable_dir("layer-active"), "data").write_text("precious")
    snapshotter.commit("layer", "layer-active")
    layer_dir = snapshotter.fs_dir(snapshotter.table.require("layer").id)

    with pytest.raises(RuntimeError, match="later step failed"), db.transaction():
        snapshotter.remove("layer")
        raise RuntimeError("a later step failed")
    assert snapshotter.stat("layer") is not None
    assert Path(layer_dir, "data").read_text() == "precious"

    with db.transaction():
        snapshotter.remove("layer")
    assert snapshotter.stat("layer") is None
    assert os.path.isdir(layer_dir)  # kept until the transaction is known to have committed
    assert snapshotter.walk() == []  # the next call outside a transaction finishes the job
    assert not os.path.exists(os.path.dirname(layer_dir))
    assert snapshotter.cleanup() == []


REMOVER = textwrap.dedent("""
    import sys
    from hull.snapshot import open_snapshotter
    from hull.state.db import Database
    root = sys.argv[1]
    db = Database(root + "/hull.db")
    snapshotter = open_snapshotter(root, db)
    with db.transaction():
        snapshotter.remove("layer")
    db.close()  # as the engine does before exiting
""")


def test_removal_in_a_transaction_finishes_when_the_process_exits(
        tmp_path: Path, db: Database) -> None:
    root = str(tmp_path / "root")
    snapshotter = open_snapshotter(root, db, "overlay")
    assert isinstance(snapshotter, DirectorySnapshotter)
    snapshotter.prepare("layer-active")
    Path(snapshotter.writable_dir("layer-active"), "data").write_text("x")
    snapshotter.commit("layer", "layer-active")
    layer_dir = snapshotter.snapshot_dir(snapshotter.table.require("layer").id)
    subprocess.run([sys.executable, "-c", REMOVER, root], cwd=REPO, check=True)
    assert snapshotter.stat("layer") is None
    assert not os.path.exists(layer_dir)


def test_commit_in_a_transaction_drops_the_workdir_afterwards(
        tmp_path: Path, db: Database) -> None:
    snapshotter = open_snapshotter(str(tmp_path / "root"), db, "overlay")
    assert isinstance(snapshotter, DirectorySnapshotter)
    snapshotter.prepare("base-active")
    snapshotter.commit("base", "base-active")
    snapshotter.prepare("top-active", "base")
    work = snapshotter.work_dir(snapshotter.table.require("top-active").id)
    with pytest.raises(RuntimeError), db.transaction():
        snapshotter.commit("top", "top-active")
        raise RuntimeError("rolled back")
    assert snapshotter.stat("top-active").kind == "active"  # type: ignore[union-attr]
    snapshotter.walk()
    assert os.path.isdir(work)  # still active: its overlay mount needs the workdir
    with db.transaction():
        snapshotter.commit("top", "top-active")
    snapshotter.walk()
    assert not os.path.exists(work)
