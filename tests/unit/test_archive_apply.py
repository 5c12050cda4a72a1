"""Applying layer tars: entry types, metadata, whiteouts in both formats, bad input."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import subprocess
import tarfile
from pathlib import Path

import pytest

from hull.archive import apply_layer, apply_layer_and_digest, gzip_compress_stream
from hull.errors import CorruptArchive, InvalidArgument
from tests.unit.test_archive_support import (
    Member,
    describe,
    directory,
    file,
    hardlink,
    make_tar,
    symlink,
)

MTIME = 1_700_000_000
# security.capability v2: cap_net_bind_service (bit 10) permitted and effective.
CAPABILITY = struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0)


def apply(members: list[Member], target: Path, whiteouts: str = "delete") -> int:
    return apply_layer(io.BytesIO(make_tar(members)), str(target), whiteouts)  # type: ignore[arg-type]


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "target"
    path.mkdir()
    return path


def test_busybox_layer_applies_and_reports_its_unpacked_size(busybox_tar: Path,
                                                             target: Path) -> None:
    with open(busybox_tar, "rb") as f:
        size = apply_layer(f, str(target), "delete")
    assert size == os.path.getsize("/bin/busybox") + sum(
        os.path.getsize(target / "etc" / n) for n in ("passwd", "group", "hostname"))
    assert (target / "bin" / "sh").is_symlink()
    assert os.readlink(target / "bin" / "sh") == "/bin/busybox"
    assert stat.S_IMODE(os.stat(target / "tmp").st_mode) == 0o1777
    assert stat.S_IMODE(os.stat(target / "root").st_mode) == 0o700
    out = subprocess.run(["chroot", str(target), "/bin/sh", "-c", "echo hi; cat /etc/hostname"],
                         capture_output=True, text=True, check=True)
    assert out.stdout == "hi\nbusybox\n"


def test_every_entry_type_with_owner_mode_and_mtime(target: Path) -> None:
    apply([
        directory("d", mode=0o750, uid=1000, gid=1001, mtime=MTIME - 100),
        file("d/f", b"hello", mode=0o640, uid=33, gid=34, mtime=MTIME),
        file("suid", b"#!/bin/sh\n", mode=0o4755, uid=0, gid=0),
        file("sgid", b"x", mode=0o2711, uid=5, gid=6),
        directory("sticky", mode=0o1777),
        symlink("d/link", "../suid", uid=7, gid=8, mtime=MTIME - 5),
        hardlink("d/hard", "d/f"),
        Member("null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
        Member("loop", tarfile.BLKTYPE, mode=0o660, devmajor=7, devminor=0, gid=6),
        Member("pipe", tarfile.FIFOTYPE, mode=0o620, uid=9),
    ], target)
    d = os.lstat(target / "d")
    assert (stat.S_IMODE(d.st_mode), d.st_uid, d.st_gid, d.st_mtime) == (0o750, 1000, 1001,
                                                                        MTIME - 100)
    f = os.lstat(target / "d" / "f")
    assert (stat.S_IMODE(f.st_mode), f.st_uid, f.st_gid, f.st_mtime) == (0o640, 33, 34, MTIME)
    assert (target / "d" / "f").read_bytes() == b"hello"
    assert stat.S_IMODE(os.lstat(target / "suid").st_mode) == 0o4755
    assert stat.S_IMODE(os.lstat(target / "sgid").st_mode) == 0o2711
    assert stat.S_IMODE(os.lstat(target / "sticky").st_mode) == 0o1777
    link = os.lstat(target / "d" / "link")
    assert stat.S_ISLNK(link.st_mode) and (link.st_uid, link.st_gid) == (7, 8)
    assert link.st_mtime == MTIME - 5
    assert os.readlink(target / "d" / "link") == "../suid"
    assert os.lstat(target / "d" / "hard").st_ino == f.st_ino
    assert f.st_nlink == 2
    null = os.lstat(target / "null")
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3)
    assert stat.S_IMODE(null.st_mode) == 0o666
    loop = os.lstat(target / "loop")
    assert stat.S_ISBLK(loop.st_mode) and loop.st_rdev == os.makedev(7, 0) and loop.st_gid == 6
    pipe = os.lstat(target / "pipe")
    assert stat.S_ISFIFO(pipe.st_mode) and stat.S_IMODE(pipe.st_mode) == 0o620
    assert pipe.st_uid == 9


def test_directory_mtimes_are_set_after_their_contents(target: Path) -> None:
    apply([directory("a", mtime=MTIME - 1000), directory("a/b", mtime=MTIME - 2000),
           file("a/b/c", b"x"), file("a/d", b"y")], target)
    assert os.stat(target / "a").st_mtime == MTIME - 1000
    assert os.stat(target / "a" / "b").st_mtime == MTIME - 2000


def test_xattrs_and_file_capabilities_survive(target: Path) -> None:
    apply([
        file("ping", b"\x7fELF", mode=0o755,
             pax={"SCHILY.xattr.security.capability": CAPABILITY.decode("latin-1"),
                  "SCHILY.xattr.user.note": "hello"}),
        directory("dir", pax={"SCHILY.xattr.user.dir": "yes"}),
    ], target)
    assert os.getxattr(target / "ping", "security.capability") == CAPABILITY
    assert os.getxattr(target / "ping", "user.note") == b"hello"
    assert os.getxattr(target / "dir", "user.dir") == b"yes"


def test_binary_capability_xattr_is_applied_exactly(target: Path) -> None:
    from hull.archive.tarformat import TarEntry, encode_header

    entry = TarEntry(name="ping", type="0", mode=0o755, size=4,
                     xattrs={"security.capability": CAPABILITY})
    data = encode_header(entry) + b"\x7fELF" + bytes(508) + bytes(1024)
    apply_layer(io.BytesIO(data), str(target), "delete")
    assert os.getxattr(target / "ping", "security.capability") == CAPABILITY
    getcap = subprocess.run(["getcap", str(target / "ping")], capture_output=True, text=True)
    if getcap.returncode == 0:
        assert "cap_net_bind_service" in getcap.stdout


def test_file_replaces_directory_and_directory_replaces_file(target: Path) -> None:
    (target / "was_dir" / "deep").mkdir(parents=True)
    (target / "was_dir" / "deep" / "x").write_bytes(b"old")
    (target / "was_file").write_bytes(b"old")
    apply([file("was_dir", b"now a file"), directory("was_file"), file("was_file/y", b"y")],
          target)
    assert (target / "was_dir").read_bytes() == b"now a file"
    assert (target / "was_file" / "y").read_bytes() == b"y"


def test_existing_directory_is_kept_and_gets_the_new_metadata(target: Path) -> None:
    (target / "etc").mkdir(mode=0o700)
    (target / "etc" / "old").write_bytes(b"keep")
    apply([directory("etc", mode=0o755, uid=3), file("etc/new", b"n")], target)
    assert (target / "etc" / "old").read_bytes() == b"keep"
    assert stat.S_IMODE(os.stat(target / "etc").st_mode) == 0o755
    assert os.stat(target / "etc").st_uid == 3


def test_missing_parents_are_created(target: Path) -> None:
    apply([file("a/b/c/file", b"x")], target)
    assert (target / "a" / "b" / "c" / "file").read_bytes() == b"x"
    assert stat.S_IMODE(os.stat(target / "a").st_mode) == 0o755


def test_hardlink_to_a_file_already_in_the_target(target: Path) -> None:
    (target / "lower").write_bytes(b"from below")
    apply([hardlink("upper", "lower")], target)
    assert os.stat(target / "upper").st_ino == os.stat(target / "lower").st_ino


def test_hardlink_to_nothing_is_refused(target: Path) -> None:
    with pytest.raises(CorruptArchive, match="'h' links to 'nowhere'"):
        apply([hardlink("h", "nowhere")], target)


def test_long_names_in_pax_gnu_and_ustar_formats(target: Path) -> None:
    deep = "/".join(["d" * 60] * 4)
    name = f"{deep}/{'f' * 120}"
    link_target = "/" + "t" * 150
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        out = target / str(fmt)
        out.mkdir()
        apply([file(name, b"long"), symlink("l" * 110, link_target),
               hardlink("h" * 110, name)], out)
        assert (out / name).read_bytes() == b"long"
        assert os.readlink(out / ("l" * 110)) == link_target
        assert os.stat(out / ("h" * 110)).st_ino == os.stat(out / name).st_ino
    ustar = target / "ustar"
    ustar.mkdir()
    prefixed = f"{'p' * 90}/{'q' * 90}/file"  # fits only with the ustar prefix field
    apply([file(prefixed, b"u")], ustar)
    assert (ustar / prefixed).read_bytes() == b"u"


def test_unicode_and_non_utf8_names(target: Path) -> None:
    apply([file("ünï/cödé", b"u")], target)
    assert (target / "ünï" / "cödé").read_bytes() == b"u"
    raw_name = b"latin1-\xe9t\xe9"
    from hull.archive.tarformat import TarEntry, encode_header
    data = encode_header(TarEntry(name=os.fsdecode(raw_name), type="0", size=1)) + b"x"
    data += bytes(511) + bytes(1024)
    apply_layer(io.BytesIO(data), str(target), "delete")
    assert os.path.exists(os.path.join(os.fsencode(target), raw_name))


def test_large_ids_in_base256_fields(target: Path) -> None:
    data = make_tar([file("big", b"x", uid=3_000_000, gid=4_000_000)], tarfile.GNU_FORMAT)
    apply_layer(io.BytesIO(data), str(target), "delete")
    st = os.stat(target / "big")
    assert (st.st_uid, st.st_gid) == (3_000_000, 4_000_000)


def test_sub_second_mtimes_from_pax(target: Path) -> None:
    apply([file("f", b"x", mtime=MTIME + 0.25)], target)
    assert os.stat(target / "f").st_mtime_ns == (MTIME * 10**9) + 250_000_000


# ---------------------------------------------------------------------------- whiteouts


def test_whiteout_in_delete_mode_removes_files_and_trees(target: Path) -> None:
    (target / "etc").mkdir()
    (target / "etc" / "gone").write_bytes(b"x")
    (target / "etc" / "kept").write_bytes(b"x")
    (target / "tree" / "sub").mkdir(parents=True)
    (target / "tree" / "sub" / "f").write_bytes(b"x")
    (target / "link").symlink_to("etc")
    apply([directory("etc"), file("etc/.wh.gone"), file(".wh.tree"), file(".wh.link"),
           file(".wh.never-existed")], target)
    assert sorted(os.listdir(target)) == ["etc"]
    assert os.listdir(target / "etc") == ["kept"]


def test_whiteout_in_overlay_mode_is_a_0_0_char_device(target: Path) -> None:
    apply([directory("etc"), file("etc/.wh.passwd")], target, "overlay")
    st = os.lstat(target / "etc" / "passwd")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert not (target / "etc" / ".wh.passwd").exists()


def test_opaque_in_overlay_mode_sets_the_xattr(target: Path) -> None:
    apply([directory("usr"), file("usr/.wh..wh..opq"), file("usr/new", b"n")], target, "overlay")
    assert os.getxattr(target / "usr", "trusted.overlay.opaque") == b"y"
    assert os.listdir(target / "usr") == ["new"]


@pytest.mark.parametrize("marker_first", [True, False], ids=["marker-first", "marker-last"])
def test_opaque_in_delete_mode_keeps_only_this_layers_entries(target: Path,
                                                              marker_first: bool) -> None:
    (target / "usr" / "lib" / "deep").mkdir(parents=True)
    (target / "usr" / "lib" / "deep" / "old").write_bytes(b"old")
    (target / "usr" / "lib" / "old").write_bytes(b"old")
    (target / "usr" / "old").write_bytes(b"old")
    (target / "other").write_bytes(b"untouched")
    layer = [directory("usr"), directory("usr/lib"), file("usr/lib/new", b"n"),
             file("usr/new", b"n")]
    marker = file("usr/.wh..wh..opq")
    members = [layer[0], marker, *layer[1:]] if marker_first else [*layer, marker]
    apply(members, target)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        "other", "usr", "usr/lib", "usr/lib/new", "usr/new"]


def test_aufs_metadata_entries_are_ignored(target: Path) -> None:
    apply([directory(".wh..wh.plnk"), file(".wh..wh.plnk/123.456", b"x"), file(".wh..wh.aufs"),
           file("real", b"r")], target)
    assert os.listdir(target) == ["real"]


def test_unknown_whiteout_format_is_refused(target: Path) -> None:
    with pytest.raises(InvalidArgument, match="whiteout format"):
        apply([file("x")], target, "aufs")


# ---------------------------------------------------------------------------- input forms


def test_compressed_layers_and_diff_id(tmp_path: Path, target: Path) -> None:
    tar = make_tar([directory("d"), file("d/f", os.urandom(300_000))])
    gz = io.BytesIO()
    gzip_compress_stream(io.BytesIO(tar), gz)
    size, diff_id = apply_layer_and_digest(io.BytesIO(gz.getvalue()), str(target), "delete")
    assert size == 300_000
    assert diff_id == "sha256:" + hashlib.sha256(tar).hexdigest()


def test_applies_from_a_pipe(target: Path) -> None:
    tar = make_tar([file("f", os.urandom(3 << 20))])
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(read_fd)
        with os.fdopen(write_fd, "wb") as w:
            w.write(tar)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb", buffering=0) as r:
        apply_layer(r, str(target), "delete")
    os.waitpid(pid, 0)
    assert (target / "f").stat().st_size == 3 << 20


@pytest.mark.parametrize("cut", ["mid-file", "mid-header", "mid-pax"])
def test_truncated_tar_is_corrupt(target: Path, cut: str) -> None:
    tar = make_tar([file("a", b"x" * 5000), file("b" * 120, b"y" * 10)])
    offsets = {"mid-file": 512 + 2000, "mid-header": 512 * 12 + 100, "mid-pax": 512 * 12 + 600}
    with pytest.raises(CorruptArchive, match="truncated|PAX|ends"):
        apply_layer(io.BytesIO(tar[: offsets[cut]]), str(target), "delete")


def test_bad_checksum_is_corrupt(target: Path) -> None:
    tar = bytearray(make_tar([file("a", b"x")]))
    tar[0] ^= 0x01
    with pytest.raises(CorruptArchive, match="checksum"):
        apply_layer(io.BytesIO(bytes(tar)), str(target), "delete")


def test_garbage_is_corrupt(target: Path) -> None:
    with pytest.raises(CorruptArchive):
        apply_layer(io.BytesIO(os.urandom(4096)), str(target), "delete")


def test_oversized_pax_header_is_refused(target: Path) -> None:
    header = bytearray(512)
    header[0:9] = b"PaxHeader"
    header[124:136] = b"%011o\0" % (1 << 30)
    header[156] = ord("x")
    header[257:263] = b"ustar\0"
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    with pytest.raises(CorruptArchive, match="oversized"):
        apply_layer(io.BytesIO(bytes(header)), str(target), "delete")


def test_unsupported_entry_type_is_refused(target: Path) -> None:
    tar = make_tar([Member("s", tarfile.CONTTYPE, data=b"x"), Member("weird", b"V")])
    with pytest.raises(CorruptArchive, match="'weird' has unsupported type"):
        apply_layer(io.BytesIO(tar), str(target), "delete")
    assert (target / "s").read_bytes() == b"x"  # contiguous files are regular files


def test_describe_sees_what_apply_wrote(target: Path) -> None:
    apply([file("a", b"x", mode=0o600)], target)
    assert describe(str(target))["a"][1] == 0o600


def test_gnu_tar_posix_archive_with_xattrs_applies_exactly(tmp_path: Path, target: Path) -> None:
    src = tmp_path / "src"
    (src / "dir" / ("deep-" + "x" * 120)).mkdir(parents=True)
    (src / "dir" / "file").write_bytes(os.urandom(70_000))
    os.chown(src / "dir" / "file", 12, 34)
    os.setxattr(src / "dir" / "file", "user.origin", b"gnu tar")
    os.setxattr(src / "dir" / "file", "security.capability", CAPABILITY)
    os.link(src / "dir" / "file", src / "dir" / "hard")
    (src / "dir" / "sym").symlink_to("file")
    os.mkfifo(src / "fifo")
    os.utime(src / "dir" / "file", ns=(1_600_000_000_000_000_000, 1_650_000_000_123_456_789))
    archive = tmp_path / "gnu.tar"
    subprocess.run(["tar", "--xattrs", "--xattrs-include=*", "--format=posix", "-cf",
                    str(archive), "-C", str(src), "."], check=True)
    with open(archive, "rb") as f:
        apply_layer(f, str(target), "delete")
    expected, got = describe(str(src)), describe(str(target))
    assert got == expected
    assert os.stat(target / "dir" / "file").st_mtime_ns == 1_650_000_000_123_456_789
