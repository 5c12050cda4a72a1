"""Volumes in containers through the real CLI: the walkthrough's data-survives scenario,
anonymous volumes and ``rm -v``, copy-up from the image, read-only mounts enforced by the
kernel, binds, tmpfs, ``--volumes-from``, volumes with driver options mounted only while in
use, and bad mount requests that leave nothing behind.  Containers run with
``--network none`` so these tests depend on nothing but volumes."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr

ctr = support.ctr
runtime = support.runtime
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
NET = ("--network", "none")


def mounted(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def volumes(ctr: Ctr) -> list[str]:
    return ctr.ok("volume", "ls", "-q").split()


def test_walkthrough_data_survives_the_container(ctr: Ctr, runtime: str) -> None:
    rt = ("--runtime", runtime)
    ctr.ok("run", *NET, *rt, "--name", "writer", "-v", "app-data:/app/data", "busybox",
           "sh", "-c", "echo 'order 1001' > /app/data/orders.txt")
    ctr.ok("rm", "writer")
    assert volumes(ctr) == ["app-data"]
    out = ctr.ok("run", *NET, *rt, "--rm", "-v", "app-data:/app/data", "busybox",
                 "cat", "/app/data/orders.txt")
    assert out == "order 1001\n"
    without = ctr.run("run", *NET, *rt, "--rm", "busybox", "cat", "/app/data/orders.txt")
    assert without.returncode == 1
    assert "No such file or directory" in without.stderr
    host_copy = Path(json.loads(ctr.ok("volume", "inspect", "app-data"))[0]["Mountpoint"])
    assert (host_copy / "orders.txt").read_text() == "order 1001\n"


def test_read_only_mounts_are_enforced_by_the_kernel(ctr: Ctr, runtime: str,
                                                     tmp_path: Path) -> None:
    host = tmp_path / "site"
    host.mkdir()
    (host / "index.html").write_text("hello")
    script = ("for f in /vol/x /bind/x /mnt/x; do touch $f 2>&1 && echo wrote $f; done;"
              " cat /bind/index.html")
    r = ctr.run("run", *NET, "--runtime", runtime, "--rm", "-v", "data:/vol:ro",
                "-v", f"{host}:/bind:ro", "--mount", "type=volume,src=data,dst=/mnt,readonly",
                "busybox", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("Read-only file system") == 3
    assert "wrote" not in r.stdout
    assert r.stdout.endswith("hello")
    assert os.listdir(host) == ["index.html"]


def test_anonymous_volumes_and_rm_v(ctr: Ctr, busybox_tar: Path) -> None:
    ctr.ok("import", "-c", "VOLUME /seed", str(busybox_tar), "with-volume")
    ctr.ok("run", *NET, "--name", "keeper", "-v", "named:/named", "-v", "/scratch",
           "with-volume", "sh", "-c", "echo a > /seed/a; echo b > /scratch/b")
    doc = ctr.inspect("keeper")
    by_dest = {m["Destination"]: m for m in doc["Mounts"]}
    assert set(by_dest) == {"/named", "/scratch", "/seed"}
    assert by_dest["/named"]["Name"] == "named"
    assert by_dest["/named"]["Source"] == f"{ctr.root}/volumes/named/_data"
    assert by_dest["/named"]["Type"] == "volume" and by_dest["/named"]["RW"] is True
    anonymous = sorted(by_dest[d]["Name"] for d in ("/scratch", "/seed"))
    assert sorted(volumes(ctr)) == sorted([*anonymous, "named"])
    for name in anonymous:
        labels = json.loads(ctr.ok("volume", "inspect", name))[0]["Labels"]
        assert labels == {"com.docker.volume.anonymous": ""}
    busy = ctr.run("volume", "rm", "named")
    assert busy.returncode == 1
    assert busy.stderr == f"Error: remove named: volume is in use - [{doc['Id']}]\n"
    assert ctr.ok("volume", "ls", "-q", "--filter", "dangling=true") == ""
    ctr.ok("rm", "-v", "keeper")
    assert volumes(ctr) == ["named"]
    assert sorted(os.listdir(ctr.root / "volumes")) == ["named"]
    # without -v anonymous volumes stay behind, dangling, until pruned
    ctr.ok("run", *NET, "--name", "plain", "-v", "/scratch", "busybox", "true")
    ctr.ok("rm", "plain")
    dangling = ctr.ok("volume", "ls", "-q", "--filter", "dangling=true").split()
    assert len(dangling) == 2 and "named" in dangling
    ctr.ok("volume", "prune", "-f")
    assert volumes(ctr) == ["named"]


def test_auto_remove_takes_anonymous_volumes_along(ctr: Ctr) -> None:
    ctr.ok("run", *NET, "--rm", "-v", "/scratch", "-v", "kept:/kept", "busybox", "true")
    assert volumes(ctr) == ["kept"]


def test_copy_up_seeds_new_volumes_from_the_image(ctr: Ctr) -> None:
    out = ctr.ok("run", *NET, "--rm", "-v", "etc-copy:/etc", "busybox",
                 "grep", "^nobody:", "/etc/passwd")
    assert out.startswith("nobody:x:65534:")
    data = ctr.root / "volumes" / "etc-copy" / "_data"
    assert "root:x:0:0" in (data / "passwd").read_text()
    nocopy = ctr.ok("run", *NET, "--rm", "-v", "empty:/etc:nocopy", "busybox",
                    "/bin/ls", "-A", "/etc")
    assert "passwd" not in nocopy.split()
    ctr.ok("run", *NET, "--rm", "--mount", "type=volume,src=empty2,dst=/etc,volume-nocopy",
           "busybox", "true")
    assert not (ctr.root / "volumes" / "empty2" / "_data" / "passwd").exists()


def test_copy_up_skips_a_volume_that_has_data(ctr: Ctr) -> None:
    ctr.ok("volume", "create", "seeded")
    data = ctr.root / "volumes" / "seeded" / "_data"
    (data / "mine").write_text("user data")
    ctr.ok("run", *NET, "--rm", "-v", "seeded:/etc", "busybox", "true")
    assert sorted(os.listdir(data)) == ["hostname", "hosts", "mine", "resolv.conf"]


def test_binds_create_missing_host_directories_only_with_v(ctr: Ctr, tmp_path: Path) -> None:
    made = tmp_path / "made" / "by" / "run"
    ctr.ok("run", *NET, "--rm", "-v", f"{made}:/out", "busybox", "sh", "-c",
           "echo done > /out/result")
    assert (made / "result").read_text() == "done\n"
    missing = tmp_path / "missing"
    r = ctr.run("run", *NET, "--name", "refused", "--mount",
                f"type=bind,src={missing},dst=/out", "busybox", "true")
    assert r.returncode == 125
    assert r.stderr == ('Error: invalid mount config for type "bind": bind source path does'
                        f" not exist: {missing}\n")
    assert not missing.exists()
    assert ctr.all_ids() == []


def test_tmpfs_mounts(ctr: Ctr) -> None:
    out = ctr.ok("run", *NET, "--rm", "--tmpfs", "/run:size=64m,mode=1777",
                 "--mount", "type=tmpfs,dst=/cache,tmpfs-size=1m,tmpfs-mode=700",
                 "busybox", "sh", "-c",
                 "grep -E ' /(run|cache) ' /proc/mounts; stat -c '%n %a' /run /cache")
    lines = out.splitlines()
    run_line = next(line for line in lines if " /run " in line)
    cache_line = next(line for line in lines if " /cache " in line)
    assert run_line.startswith("tmpfs /run tmpfs ") and "size=65536k" in run_line
    assert "nosuid" in run_line and "nodev" in run_line and "noexec" in run_line
    assert "size=1024k" in cache_line
    assert "/run 1777" in lines and "/cache 700" in lines
    ctr.ok("create", *NET, "--name", "listed", "--tmpfs", "/run",
           "--mount", "type=tmpfs,dst=/cache", "busybox", "true")
    assert ctr.inspect("listed")["Mounts"] == [  # like Docker: --tmpfs ones are not listed
        {"Type": "tmpfs", "Source": "", "Destination": "/cache", "Mode": "", "RW": True,
         "Propagation": ""}]


def test_volumes_from(ctr: Ctr, tmp_path: Path) -> None:
    host = tmp_path / "shared"
    host.mkdir()
    ctr.ok("create", *NET, "--name", "data", "-v", "store:/store", "-v", f"{host}:/host",
           "busybox", "true")
    ctr.ok("run", *NET, "--rm", "--volumes-from", "data", "busybox", "sh", "-c",
           "echo via-volume > /store/f; echo via-bind > /host/g")
    assert (host / "g").read_text() == "via-bind\n"
    r = ctr.run("run", *NET, "--rm", "--volumes-from", "data:ro", "busybox", "sh", "-c",
                "cat /store/f; touch /store/h")
    assert r.stdout == "via-volume\n"
    assert "Read-only file system" in r.stderr
    bad = ctr.run("run", *NET, "--rm", "--volumes-from", "nosuch", "busybox", "true")
    assert bad.returncode == 125 and bad.stderr == "Error: No such container: nosuch\n"


def test_volume_with_driver_options_is_mounted_while_used(ctr: Ctr) -> None:
    ctr.ok("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=8m",
           "scratch")
    data = str(ctr.root / "volumes" / "scratch" / "_data")
    assert not mounted(data)
    for name in ("one", "two"):
        ctr.ok("run", *NET, "-d", "--name", name, "-v", "scratch:/s", "busybox", "sh", "-c",
               f"df -k /s | tail -1 > /s/{name}; sleep 60")
    assert mounted(data)
    for name in ("one", "two"):  # both see the one 8 MB tmpfs
        df = ctr.wait_for(lambda n=name: (Path(data) / n).exists()
                          and (Path(data) / n).read_text(), what="df output")
        assert df.split()[1] == "8192"
    ctr.ok("stop", "-t", "0", "one")
    assert mounted(data)  # "two" still uses it
    ctr.ok("stop", "-t", "0", "two")
    ctr.wait_for(lambda: not mounted(data), what="the volume's tmpfs to be unmounted")
    ctr.ok("rm", "one", "two")
    ctr.ok("volume", "rm", "scratch")
    assert not os.path.exists(os.path.dirname(data))


@pytest.mark.parametrize(("args", "message"), [
    (["-v", "a/b:/x"], 'create a/b: "a/b" includes invalid characters for a local volume'
                       ' name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended'
                       " to pass a host directory, use absolute path"),
    (["-v", "a:b:c:d"], "invalid volume specification: 'a:b:c:d'"),
    (["-v", "data:/x:bogus"], "invalid mode: bogus"),
    (["-v", "ok:/x", "-v", "/host:/x"], "Duplicate mount point: /x"),
    (["--mount", "type=volume,dst=/x,volume-opt=colour=red,src=painted"],
     'create painted: invalid option: "colour"'),
    (["--mount", "type=bind,dst=/x"], 'invalid mount config for type "bind": field Source'
                                      " must not be empty"),
    (["--mount", "type=bind"], 'invalid argument "type=bind" for "--mount" flag: target is'
                               " required"),
    (["--tmpfs", "run"], "invalid mount path: 'run' mount path must be absolute"),
])
def test_bad_mount_requests_create_nothing(ctr: Ctr, args: list[str], message: str) -> None:
    r = ctr.run("run", *NET, "--name", "never", *args, "busybox", "true")
    assert r.returncode == 125
    assert r.stderr == f"Error: {message}\n"
    assert ctr.all_ids() == []
    assert volumes(ctr) == []
    if (ctr.root / "hull.db").exists():
        conn = sqlite3.connect(ctr.root / "hull.db")
        try:
            assert conn.execute("SELECT COUNT(*) FROM container_mounts").fetchone()[0] == 0
        finally:
            conn.close()
    assert not (ctr.root / "volumes").exists() or os.listdir(ctr.root / "volumes") == []


def test_a_volume_that_cannot_be_mounted_fails_the_start_cleanly(ctr: Ctr) -> None:
    ctr.ok("volume", "create", "-o", "type=ext4", "-o", "device=/dev/hull-no-such-disk",
           "broken")
    r = ctr.run("run", *NET, "--name", "unlucky", "-v", "broken:/data", "busybox", "true")
    assert r.returncode == 125
    assert r.stderr.startswith("Error: error while mounting volume 'broken': failed to mount"
                               " local volume: ")
    assert len(r.stderr.splitlines()) == 1
    assert ctr.state("unlucky")["Running"] is False
    assert not mounted(str(ctr.root / "volumes" / "broken" / "_data"))
    assert [n for n in os.listdir(ctr.run_root / "volumes") if not n.startswith(".")] == []
    ctr.ok("rm", "unlucky")
    assert ctr.ok("volume", "rm", "broken") == "broken\n"
