"""``hull export``: a container's filesystem as a tar, which ``hull import`` turns into an
equivalent image."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr

ctr = support.ctr
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups

SETUP = ("mkdir -p /data/sub && echo hello > /data/sub/file && chmod 640 /data/sub/file"
         " && chown 1000:2000 /data/sub/file && ln -s sub/file /data/link"
         " && ln /data/sub/file /data/zhard && chmod 1777 /data && rm /bin/ls")


def _tree(tar_path: Path) -> dict[str, tuple]:
    """name -> (type, mode, uid, gid, link target, content) of every member."""
    out = {}
    with tarfile.open(tar_path) as tar:
        for m in tar.getmembers():
            data = tar.extractfile(m).read() if m.isreg() else b""
            out[m.name.rstrip("/")] = (m.type, m.mode, m.uid, m.gid, m.linkname, data)
    return out


def test_export_then_import_gives_an_equivalent_image(ctr: Ctr, tmp_path: Path) -> None:
    ctr.ok("run", "--name", "c1", "busybox", "sh", "-c", SETUP)
    first = tmp_path / "first.tar"
    ctr.ok("export", "-o", str(first), "c1")
    tree = _tree(first)
    assert tree["data/sub/file"][1:4] == (0o640, 1000, 2000)
    assert tree["data/sub/file"][5] == b"hello\n"
    assert tree["data/link"][0] == tarfile.SYMTYPE and tree["data/link"][4] == "sub/file"
    assert tree["data/zhard"][0] == tarfile.LNKTYPE
    assert tree["data"][1] == 0o1777
    assert "bin/ls" not in tree and "bin/busybox" in tree
    ctr.ok("import", str(first), "exported:1")
    ctr.ok("create", "--name", "c2", "exported:1", "true")
    second = tmp_path / "second.tar"
    ctr.ok("export", "-o", str(second), "c2")
    assert _tree(second) == tree
    out = ctr.run("run", "--rm", "exported:1", "sh", "-c",
                  "stat -c '%a %u %g' /data/sub/file; cat /data/link; ls /bin/ls 2>&1").stdout
    assert out.startswith("640 1000 2000\nhello\n") and "No such file" in out


def test_export_of_a_running_container_to_stdout(ctr: Ctr, tmp_path: Path) -> None:
    ctr.ok("run", "-d", "--name", "web", "busybox", "sh", "-c", "echo live > /live; sleep 60")
    ctr.wait_for(lambda: "A /live" in ctr.ok("diff", "web"), what="the file")
    proc = ctr.run_bytes("export", "web")
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "out.tar"
    path.write_bytes(proc.stdout)
    assert _tree(path)["live"][5] == b"live\n"
    assert ctr.state("web")["Running"]


def test_export_errors(ctr: Ctr, tmp_path: Path) -> None:
    out = ctr.run("export", "nope")
    assert out.returncode == 1 and out.stderr.strip() == "Error: No such container: nope"
    ctr.ok("create", "--name", "c1", "busybox", "true")
    out = ctr.run("export", "-o", str(tmp_path / "missing" / "x.tar"), "c1")
    assert out.returncode == 1 and "no such file or directory" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "missing")
