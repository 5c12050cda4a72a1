"""Bad input never corrupts the store: broken archives, lying digests, full disks, kill -9."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.conftest import HullEnv


def store_state(hull: HullEnv) -> tuple:
    """Everything a failed command must leave as it was."""
    blobs = sorted(os.listdir(hull.root / "blobs" / "sha256")) if (
        hull.root / "blobs" / "sha256").exists() else []
    ingest = sorted(os.listdir(hull.root / "ingest")) if (hull.root / "ingest").exists() else []
    db = sqlite3.connect(hull.root / "hull.db")
    try:
        rows = tuple(tuple(db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall())
                     for t in ("images", "image_refs", "layers", "image_layers", "snapshots"))
    finally:
        db.close()
    return blobs, ingest, rows


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode != 0
    err = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode()
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_import_of_garbage_is_refused(hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    before = store_state(hull)
    junk = tmp_path / "junk.tar"
    junk.write_bytes(os.urandom(50_000))
    err = one_line_error(hull.run("import", str(junk), "junk"))
    assert "junk" in err or "tar" in err
    assert store_state(hull) == before


def test_import_of_truncated_tar_is_refused(hull: HullEnv, busybox: str, busybox_tar: Path,
                                            tmp_path: Path) -> None:
    before = store_state(hull)
    cut = tmp_path / "cut.tar"
    data = busybox_tar.read_bytes()
    cut.write_bytes(data[: len(data) // 2 + 123])
    one_line_error(hull.run("import", str(cut), "cut"))
    assert store_state(hull) == before
    gz = tmp_path / "cut.tar.gz"
    subprocess.run(f"gzip -c {busybox_tar} | head -c 300000 > {gz}", shell=True, check=True)
    one_line_error(hull.run("import", str(gz), "cut"))
    assert store_state(hull) == before


def test_load_of_missing_or_corrupt_archives(hull: HullEnv, busybox: str, tmp_path: Path) -> None:
    before = store_state(hull)
    err = one_line_error(hull.run("load", "-i", str(tmp_path / "absent.tar")))
    assert "no such file" in err
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    one_line_error(hull.run("load", "-i", str(junk)))
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w") as tar:
        info = tarfile.TarInfo("hello.txt")
        tar.addfile(info, io.BytesIO(b""))
    err = one_line_error(hull.run("load", "-i", str(empty)))
    assert "not an image archive" in err
    archive = tmp_path / "bb.tar"
    hull.ok("save", "-o", str(archive), "busybox")
    data = archive.read_bytes()
    (tmp_path / "half.tar").write_bytes(data[: len(data) // 2])
    one_line_error(hull.run("load", "-i", str(tmp_path / "half.tar")))
    assert store_state(hull) == before


def _rewrite_archive(src: Path, dst: Path, change) -> None:  # type: ignore[no-untyped-def]
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        for member in tin.getmembers():
            data = tin.extractfile(member).read() if member.isfile() else b""  # type: ignore[union-attr]
            data = change(member.name, data)
            member.size = len(data)
            tout.addfile(member, io.BytesIO(data))


def test_load_refuses_layer_that_does_not_match_its_digest(hull: HullEnv, busybox: str,
                                                          tmp_path: Path) -> None:
    archive = tmp_path / "bb.tar"
    hull.ok("save", "-o", str(archive), "busybox")
    hull.ok("rmi", "busybox")
    before = store_state(hull)
    diff_id = json.loads(subprocess.run(
        ["tar", "-xOf", str(archive), f"blobs/sha256/{busybox[7:]}"],
        capture_output=True, check=True).stdout)["rootfs"]["diff_ids"][0]

    def swap_layer(name: str, data: bytes) -> bytes:
        if name == f"blobs/sha256/{diff_id[7:]}":
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as t:
                info = tarfile.TarInfo("evil")
                info.size = 4
                t.addfile(info, io.BytesIO(b"evil"))
            return buf.getvalue()
        return data

    bad = tmp_path / "bad.tar"
    _rewrite_archive(archive, bad, swap_layer)
    err = one_line_error(hull.run("load", "-i", str(bad)))
    assert ("digest" in err and "does not match" in err) or "mismatch" in err
    assert store_state(hull) == before


def test_load_refuses_config_that_does_not_match(hull: HullEnv, busybox: str,
                                                 tmp_path: Path) -> None:
    archive = tmp_path / "bb.tar"
    hull.ok("save", "-o", str(archive), "busybox")
    hull.ok("rmi", "busybox")
    before = store_state(hull)

    def break_index(name: str, data: bytes) -> bytes:
        if name == "manifest.json":
            return b"{not json"
        return data

    bad = tmp_path / "bad.tar"
    _rewrite_archive(archive, bad, break_index)
    err = one_line_error(hull.run("load", "-i", str(bad)))
    assert "manifest.json" in err
    assert store_state(hull) == before


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    mnt = tmp_path / "small"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_during_import_leaves_store_as_before(hull: HullEnv, busybox_tar: Path,
                                                        small_disk: Path, tmp_path: Path) -> None:
    small = HullEnv(root=small_disk / "root", run_root=tmp_path / "run-small")
    small.ok("import", str(busybox_tar), "busybox")
    before = store_state(small)
    big = tmp_path / "big.tar"
    with tarfile.open(big, "w") as tar:
        info = tarfile.TarInfo("big.bin")
        info.size = 30 << 20
        tar.addfile(info, io.BytesIO(os.urandom(info.size)))
    err = one_line_error(small.run("import", str(big), "big"))
    assert "no space left on device" in err.lower()
    assert store_state(small) == before
    assert small.ok("images", "--format", "{{.Repository}}").split() == ["busybox"]
    subprocess.run(["umount", "-R", "-l", str(small.root)], check=False, capture_output=True)


def _big_tar(path: Path, size: int) -> None:
    with tarfile.open(path, "w") as tar:
        for i in range(4):
            info = tarfile.TarInfo(f"chunk{i}.bin")
            info.size = size // 4
            tar.addfile(info, io.BytesIO(os.urandom(info.size)))


def test_kill_9_during_import_then_import_succeeds(hull: HullEnv, busybox: str,
                                                   tmp_path: Path) -> None:
    before = store_state(hull)
    big = tmp_path / "big.tar"
    _big_tar(big, 160 << 20)
    # Kill while the stream is still arriving on stdin.
    proc = subprocess.Popen([sys.executable, "-m", "hull", "import", "-", "big:1"],
                            stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, env=hull.env())
    with open(big, "rb") as f:
        proc.stdin.write(f.read(40 << 20))  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]
    time.sleep(0.3)
    proc.kill()
    proc.wait()
    proc.stdin.close()  # type: ignore[union-attr]
    # Kill while the layer is being unpacked.
    proc = subprocess.Popen([sys.executable, "-m", "hull", "import", str(big), "big:1"],
                            stderr=subprocess.DEVNULL, env=hull.env())
    db = sqlite3.connect(hull.root / "hull.db")
    deadline = time.time() + 30
    while time.time() < deadline and proc.poll() is None:
        if db.execute("SELECT 1 FROM snapshots WHERE key LIKE 'extract-%'").fetchone():
            break
        time.sleep(0.005)
    db.close()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    images_before = before[2][0]
    assert store_state(hull)[2][0] == images_before  # no half image is listed
    assert hull.ok("images", "-q").split() == [busybox[7:19]]
    # The next import works and clears what the killed ones left.
    hull.ok("import", str(big), "big:1")
    blobs, ingest, rows = store_state(hull)
    assert ingest == []
    assert not any(str(r[0]).startswith("extract-") for r in rows[4])
    assert sorted(hull.ok("images", "--format", "{{.Repository}}").split()) == ["big", "busybox"]
