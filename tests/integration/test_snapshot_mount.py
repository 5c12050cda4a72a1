"""The mount helpers on real mounts: flags, errors, rollback and long overlay options."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from hull.errors import EngineError
from hull.snapshot.base import Mount
from hull.snapshot.mount import compact_overlay_options, mount_all, mounted, unmount, unmount_all


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "target with space"
    path.mkdir()
    try:
        yield path
    finally:
        unmount_all(str(path), detach=True)


def mount_options(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4].replace("\\040", " ") == str(path):
                return fields[5].split(",")
    raise AssertionError(f"{path} is not mounted")


def test_read_only_bind_mount_and_unmount(tmp_path: Path, target: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "file").write_text("hello")
    assert not mounted(str(target))
    mount_all([Mount("bind", str(source), ("rbind", "ro", "nosuid"))], str(target))
    assert mounted(str(target))  # found despite the escaped space in mountinfo
    assert (target / "file").read_text() == "hello"
    assert {"ro", "nosuid"} <= set(mount_options(target))
    with pytest.raises(OSError):
        (target / "other").write_text("x")
    unmount(str(target))
    assert not mounted(str(target))
    assert not (target / "file").exists()


def test_mount_errors_name_the_mount_and_errno(tmp_path: Path, target: Path) -> None:
    with pytest.raises(EngineError, match=r"cannot mount bind '.*missing'.*No such file"):
        mount_all([Mount("bind", str(tmp_path / "missing"), ("rbind",))], str(target))
    bad = Mount("overlay", "overlay", (f"lowerdir={tmp_path / 'missing'}",))
    with pytest.raises(EngineError, match="cannot mount overlay"):
        mount_all([bad], str(target))
    assert not mounted(str(target))


def test_failed_mount_undoes_earlier_ones(tmp_path: Path, target: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    records = [Mount("bind", str(source), ("rbind",)),
               Mount("bind", str(tmp_path / "missing"), ("rbind",))]
    with pytest.raises(EngineError):
        mount_all(records, str(target))
    assert not mounted(str(target))


def test_unmount_of_a_plain_directory_is_a_clear_error(target: Path) -> None:
    with pytest.raises(EngineError, match="not a mount point"):
        unmount(str(target))
    unmount_all(str(target))  # nothing mounted: nothing to do


def test_stacked_mounts_all_come_off(tmp_path: Path, target: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (b / "top").write_text("b")
    mount_all([Mount("bind", str(a), ("rbind",)), Mount("bind", str(b), ("rbind",))], str(target))
    assert (target / "top").read_text() == "b"
    unmount_all(str(target))
    assert not mounted(str(target))


def make_layers(base: Path, count: int) -> list[str]:
    layers = []
    for n in range(count):
        layer = base / str(n) / "fs"
        layer.mkdir(parents=True)
        layers.append(str(layer))
    return layers


def test_long_overlay_options_mount_without_moving_cwd(tmp_path: Path, target: Path) -> None:
    base = tmp_path / ("deep-" * 20) / "snapshots"
    lowers = make_layers(base, 120)
    (Path(lowers[-1]) / "bottom").write_text("first layer")
    upper, work = base / "999" / "fs", base / "999" / "work"
    upper.mkdir(parents=True)
    work.mkdir()
    options = (f"lowerdir={':'.join(lowers)}", f"upperdir={upper}", f"workdir={work}")
    assert len(",".join(options)) > 4096
    cwd = os.getcwd()
    mount_all([Mount("overlay", "overlay", options)], str(target))
    assert os.getcwd() == cwd
    assert (target / "bottom").read_text() == "first layer"
    (target / "new").write_text("x")
    assert (upper / "new").read_text() == "x"


def test_too_many_layers_even_relative_is_refused(tmp_path: Path, target: Path) -> None:
    lowers = make_layers(tmp_path / "snapshots", 1000)
    mount = Mount("overlay", "overlay", (f"lowerdir={':'.join(lowers)}", "ro"))
    with pytest.raises(EngineError, match="too many layers"):
        mount_all([mount], str(target))
    assert not mounted(str(target))


def test_compaction_rewrites_only_directory_options() -> None:
    base, options = compact_overlay_options(
        ["lowerdir=/s/overlay/2/fs:/s/overlay/1/fs", "upperdir=/s/overlay/3/fs",
         "workdir=/s/overlay/3/work", "index=off"])
    assert base == "/s/overlay"
    assert options == ["lowerdir=2/fs:1/fs", "upperdir=3/fs", "workdir=3/work", "index=off"]


def test_bind_type_alone_means_a_bind_mount(tmp_path: Path, target: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "file").write_text("x")
    mount_all([Mount("bind", str(source), ("ro",))], str(target))
    assert (target / "file").read_text() == "x"
    assert "ro" in mount_options(target)
