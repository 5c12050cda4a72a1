"""Copy-up: a new volume is seeded with the image's files at the mount point, keeping what a
layer keeps (owners, modes, times, xattrs, hardlinks, symlinks, fifos); never when the volume
already has data; never outside the root filesystem."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hull.volume.copyup import seed_volume

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="copying owners needs root")


def make_image_tree(rootfs: Path) -> Path:
    data = rootfs / "app" / "data"
    (data / "private").mkdir(parents=True)
    os.chown(data, 1000, 1001)
    os.chmod(data, 0o750)
    config = data / "config.ini"
    config.write_text("[main]\nanswer = 42\n")
    os.chown(config, 1000, 1001)
    os.chmod(config, 0o640)
    os.utime(config, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    os.chown(data / "private", 33, 33)
    os.chmod(data / "private", 0o700)
    (data / "private" / "key").write_bytes(b"\x00secret")
    os.link(config, data / "config.hardlink")
    os.symlink("config.ini", data / "current")
    os.mkfifo(data / "pipe")
    return data


def test_seeding_keeps_owners_modes_times_links(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    data = make_image_tree(rootfs)
    try:
        os.setxattr(data / "config.ini", "user.origin", b"image")
        has_xattrs = True
    except OSError:
        has_xattrs = False
    volume = tmp_path / "volume" / "_data"
    volume.mkdir(parents=True)
    assert seed_volume(str(rootfs), "/app/data", str(volume)) is True
    top = volume.stat()
    assert (top.st_uid, top.st_gid, stat.S_IMODE(top.st_mode)) == (1000, 1001, 0o750)
    copied = (volume / "config.ini").stat()
    assert (volume / "config.ini").read_text() == "[main]\nanswer = 42\n"
    assert (copied.st_uid, copied.st_gid, stat.S_IMODE(copied.st_mode)) == (1000, 1001, 0o640)
    assert copied.st_mtime_ns == 1_600_000_000_000_000_000
    assert copied.st_ino == (volume / "config.hardlink").stat().st_ino
    assert os.readlink(volume / "current") == "config.ini"
    assert stat.S_ISFIFO((volume / "pipe").lstat().st_mode)
    private = (volume / "private").stat()
    assert (private.st_uid, stat.S_IMODE(private.st_mode)) == (33, 0o700)
    assert (volume / "private" / "key").read_bytes() == b"\x00secret"
    if has_xattrs:
        assert os.getxattr(volume / "config.ini", "user.origin") == b"image"


def test_no_copy_into_a_volume_with_data_or_from_nothing(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    make_image_tree(rootfs)
    volume = tmp_path / "volume"
    volume.mkdir()
    (volume / "mine").write_text("user data")
    assert seed_volume(str(rootfs), "/app/data", str(volume)) is False
    assert sorted(os.listdir(volume)) == ["mine"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert seed_volume(str(rootfs), "/not/in/image", str(empty)) is False
    (rootfs / "file").write_text("x")
    assert seed_volume(str(rootfs), "/file", str(empty)) is False
    assert os.listdir(empty) == []


def test_symlinks_in_the_image_cannot_reach_the_host(tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "inside").write_text("image file")
    os.symlink("/etc", rootfs / "escape")          # absolute: means the image's /etc
    os.symlink("../../../../../etc", rootfs / "up")  # climbing stops at the image's root
    for link in ("/escape", "/up"):
        volume = tmp_path / f"volume{link.replace('/', '-')}"
        volume.mkdir()
        assert seed_volume(str(rootfs), link, str(volume)) is True
        assert os.listdir(volume) == ["inside"]
