"""The walkthrough scenarios: independent containers from one image, the writable layer's
life, images in use, isolation and resource limits (builtin runtime and runc)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr

ctr = support.ctr
runtime = support.runtime
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def test_four_containers_from_one_image_are_independent(ctr: Ctr, runtime: str) -> None:
    names = [f"box{i}" for i in range(4)]
    for name in names:
        ctr.ok("run", "-d", "--runtime", runtime, "--network", "none", "--name", name,
               "busybox", "sh", "-c", f"echo {name} > /mine; sleep 6; cat /mine;"
               " ls / | grep -c mine")
    running = ctr.ok("ps", "--format", "{{.Names}}").split()
    assert sorted(running) == names  # all four at the same time
    for name in names:
        assert ctr.ok("wait", name) == "0\n"
        # each saw only its own file: its name, and exactly one /mine
        assert ctr.ok("logs", name) == f"{name}\n1\n"


def test_files_written_in_one_container_are_not_seen_in_another(ctr: Ctr) -> None:
    ctr.ok("run", "--name", "writer", "busybox", "sh", "-c", "echo secret > /shared-file")
    r = ctr.run("run", "--rm", "busybox", "cat", "/shared-file")
    assert r.returncode == 1 and "No such file" in r.stderr
    assert ctr.ok("start", "-a", "writer") == ""
    # the writer still has it (same container, same writable layer)
    ctr.ok("create", "--name", "reader", "busybox", "cat", "/shared-file")
    assert ctr.run("start", "-a", "reader").returncode == 1


def test_writable_layer_survives_stop_start_and_dies_with_the_container(ctr: Ctr,
                                                                        runtime: str) -> None:
    image_before = ctr.inspect("busybox")["Id"]
    ctr.ok("create", "--runtime", runtime, "--name", "keeper", "busybox", "sh", "-c",
           "cat /data 2>/dev/null || echo first | tee /data; rm -f /bin/vi")
    assert ctr.ok("start", "-a", "keeper") == "first\n"
    ctr.ok("start", "keeper")
    assert ctr.ok("wait", "keeper") == "0\n"
    assert ctr.ok("logs", "keeper") == "first\nfirst\n"  # /data was still there
    size = ctr.ok("ps", "-a", "-s", "--format", "{{.Size}}").strip()
    assert size.endswith("MB)") and "(virtual" in size
    ctr.ok("rm", "keeper")
    ctr.ok("create", "--runtime", runtime, "--name", "keeper", "busybox", "sh", "-c",
           "cat /data 2>/dev/null || echo fresh; test -e /bin/vi && echo vi-back")
    assert ctr.ok("start", "-a", "keeper") == "fresh\nvi-back\n"
    assert ctr.inspect("busybox")["Id"] == image_before
    assert ctr.ok("run", "--rm", "busybox", "sh", "-c", "test -e /bin/vi && echo ok") == "ok\n"


def test_images_in_use_cannot_be_removed(ctr: Ctr) -> None:
    cid = ctr.ok("create", "--name", "user", "busybox", "true").strip()
    image = ctr.inspect("busybox")["Id"].split(":")[1][:12]
    r = ctr.run("rmi", image)
    assert r.returncode != 0
    assert f"image is being used by stopped container {cid[:12]}" in r.stderr
    ctr.ok("start", "user")
    ctr.ok("wait", "user")
    ctr.ok("rm", "user")
    assert "Deleted" in ctr.ok("rmi", "busybox")
    gone = ctr.run("run", "--rm", "busybox", "true")
    assert gone.returncode == 125 and gone.stderr.strip() == \
        "Error: No such image: busybox:latest"


def test_running_container_blocks_rmi_even_when_forced(ctr: Ctr) -> None:
    cid = ctr.ok("run", "-d", "busybox", "sleep", "300").strip()
    image = ctr.inspect("busybox")["Id"]
    r = ctr.run("rmi", "-f", image)
    assert r.returncode != 0 and f"running container {cid[:12]}" in r.stderr
    r = ctr.run("rmi", "-f", "busybox")
    assert r.returncode == 0 and "Untagged: busybox:latest" in r.stdout
    assert ctr.inspect(cid)["Image"] == image  # the container keeps its image
    ps_image = ctr.ok("ps", "--format", "{{.Image}}").strip()
    assert ps_image == image.split(":")[1][:12]


def test_isolation_pid_mount_proc_modules_and_host_files(ctr: Ctr, runtime: str,
                                                         tmp_path: Path) -> None:
    marker = tmp_path / f"host-secret-{uuid.uuid4().hex[:8]}"
    marker.write_text("host only")
    script = (
        "echo pid1=$(cat /proc/1/cmdline | tr '\\0' ' ');"
        "echo procs=$(ls /proc | grep -c '^[0-9]');"
        "mkdir -p /mnt; mount -t tmpfs none /mnt 2>/dev/null && echo mount=yes || echo mount=no;"
        "echo 1 > /proc/sys/kernel/panic 2>/dev/null && echo procsys=yes || echo procsys=no;"
        "echo x > /m.ko; insmod /m.ko 2>&1 | grep -q 'not permitted' && echo insmod=eperm"
        " || echo insmod=other;"
        f"test -e {marker} && echo host=yes || echo host=no;"
        "cat /proc/self/status | grep CapEff"
    )
    out = ctr.ok("run", "--rm", "--runtime", runtime, "busybox", "sh", "-c", script)
    lines = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    assert lines["pid1"].startswith("sh -c")
    assert int(lines["procs"]) <= 4  # sh, ls, grep (and maybe a subshell): nothing of the host
    assert lines["mount"] == "no"
    assert lines["procsys"] == "no"
    assert lines["insmod"] == "eperm"
    assert lines["host"] == "no"
    priv = ctr.ok("run", "--rm", "--runtime", runtime, "--privileged", "busybox", "sh", "-c",
                  "mkdir -p /mnt; mount -t tmpfs none /mnt && echo mount=yes; umount /mnt;"
                  "cat /proc/sys/kernel/panic > /tmp/p; cat /tmp/p > /proc/sys/kernel/panic"
                  " && echo procsys=yes;"
                  "echo x > /m.ko; insmod /m.ko 2>&1 | grep -q 'not permitted'"
                  " && echo insmod=eperm || echo insmod=other")
    plines = dict(line.split("=", 1) for line in priv.splitlines() if "=" in line)
    assert plines == {"mount": "yes", "procsys": "yes", "insmod": "other"}


def test_capabilities_add_and_drop(ctr: Ctr) -> None:
    def cap_eff(*flags: str) -> int:
        out = ctr.ok("run", "--rm", *flags, "busybox", "grep", "CapEff", "/proc/self/status")
        return int(out.split()[1], 16)

    default = cap_eff()
    assert default & (1 << 0)          # CAP_CHOWN
    assert not default & (1 << 21)     # CAP_SYS_ADMIN
    assert not cap_eff("--cap-drop", "chown") & (1 << 0)
    assert cap_eff("--cap-add", "SYS_ADMIN") & (1 << 21)
    bad = ctr.run("run", "--rm", "--cap-add", "NOT_A_CAP", "busybox", "true")
    assert bad.returncode == 125 and "NOT_A_CAP" in bad.stderr


def test_seccomp_unconfined_and_no_new_privileges(ctr: Ctr) -> None:
    confined = ctr.ok("run", "--rm", "busybox", "grep", "Seccomp:", "/proc/self/status")
    assert confined.split()[1] == "2"
    free = ctr.ok("run", "--rm", "--security-opt", "seccomp=unconfined", "busybox", "grep",
                  "Seccomp:", "/proc/self/status")
    assert free.split()[1] == "0"
    nnp = ctr.ok("run", "--rm", "--security-opt", "no-new-privileges", "busybox", "grep",
                 "NoNewPrivs", "/proc/self/status")
    assert nnp.split()[1] == "1"
    bad = ctr.run("run", "--rm", "--security-opt", "bogus=1", "busybox", "true")
    assert bad.returncode == 125 and "invalid --security-opt" in bad.stderr


def test_pids_limit_stops_a_fork_bomb(ctr: Ctr, runtime: str) -> None:
    # An inner shell forks until it fails (and dies); the outer one counts with builtins
    # only (it could not fork `ls` any more) and cleans up with kill -1.
    out = ctr.ok("run", "--rm", "--runtime", runtime, "--pids-limit", "20", "busybox", "sh",
                 "-c", "sh -c 'for i in $(seq 1 60); do sleep 30 & done' 2>/dev/null;"
                 " set -- /proc/[0-9]*; echo running=$#; kill -9 -1; true")
    count = int(out.split("running=")[1].split()[0])
    assert 10 < count <= 20


def test_memory_limit_oom_kill_shows_in_state(ctr: Ctr, runtime: str) -> None:
    r = ctr.run("run", "--runtime", runtime, "--name", "hog", "--memory", "16m", "busybox",
                "sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived")
    assert "survived" not in r.stdout
    state = ctr.state("hog")
    assert state["OOMKilled"] is True
    assert state["ExitCode"] == 137 or r.returncode == 137
    ok = ctr.run("run", "--rm", "--runtime", runtime, "--memory", "64m", "busybox", "sh", "-c",
                 "x=$(head -c 1048576 /dev/zero | tr '\\0' a); echo survived")
    assert ok.stdout == "survived\n"


def test_cpu_and_memory_limits_reach_the_cgroup(ctr: Ctr) -> None:
    cid = ctr.ok("run", "-d", "--memory", "32m", "--cpus", "0.5", "--cpu-shares", "512",
                 "busybox", "sleep", "300").strip()
    base = "/sys/fs/cgroup"
    if os.path.exists(f"{base}/cgroup.controllers"):
        assert open(f"{base}/hull/{cid}/memory.max").read().strip() == str(32 << 20)
        assert open(f"{base}/hull/{cid}/cpu.max").read().split() == ["50000", "100000"]
    else:
        assert open(f"{base}/memory/hull/{cid}/memory.limit_in_bytes").read().strip() == \
            str(32 << 20)
        assert open(f"{base}/cpu/hull/{cid}/cpu.cfs_quota_us").read().strip() == "50000"
        assert open(f"{base}/cpu/hull/{cid}/cpu.shares").read().strip() == "512"


def test_network_none_has_only_loopback_and_host_shares_the_host(ctr: Ctr) -> None:
    links = ctr.ok("run", "--rm", "--network", "none", "busybox", "cat", "/proc/net/dev")
    names = [line.split(":")[0].strip() for line in links.splitlines()[2:]]
    assert names == ["lo"]
    assert "UP" in ctr.ok("run", "--rm", "--network", "none", "busybox", "ip", "link", "show",
                          "lo")
    host_links = ctr.ok("run", "--rm", "--network", "host", "busybox", "cat", "/proc/net/dev")
    with open("/proc/net/route") as f:  # the host's default-route interface is there too
        uplink = next(line.split()[0] for line in f if line.split()[1] == "00000000")
    assert f"{uplink}:" in host_links
    assert ctr.ok("run", "--rm", "--network", "host", "busybox", "hostname").strip() == \
        os.uname().nodename
    doc = ctr.inspect(ctr.ok("create", "--network", "none", "busybox", "true").strip())
    assert doc["HostConfig"]["NetworkMode"] == "none"
    assert list(doc["NetworkSettings"]["Networks"]) == ["none"]


def test_etc_files_are_the_containers_own(ctr: Ctr) -> None:
    out = ctr.ok("run", "--rm", "-h", "box", "--add-host", "db:10.1.2.3", "--dns", "9.9.9.9",
                 "busybox", "sh", "-c", "cat /etc/hostname /etc/hosts /etc/resolv.conf")
    assert out.startswith("box\n127.0.0.1\tlocalhost\n")
    assert "10.1.2.3\tdb\n" in out
    assert "nameserver 9.9.9.9\n" in out
