"""The cgroup layer on its own: v1 controllers on this host and, where a cgroup2 hierarchy is
mounted (the unified one of a hybrid host, or /sys/fs/cgroup itself), the v2 code paths that
need no controllers: membership, freezing and removal."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator

import pytest

from hull.runtime.cgroups import CgroupV1, CgroupV2, cgroup_from_dirs, device_rule, v1_mounts


def _cgroup2_root() -> str | None:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] == "cgroup2":
                return left.split()[4]
    return None


def _sleeper() -> int:
    pid = os.fork()
    if pid == 0:
        try:
            time.sleep(60)
        finally:
            os._exit(0)
    return pid


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


@pytest.fixture
def child() -> Iterator[int]:
    pid = _sleeper()
    yield pid
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass  # the test reaped it


def test_v2_join_freeze_thaw_and_remove(child: int) -> None:
    root = _cgroup2_root()
    if root is None:
        pytest.skip("no cgroup2 hierarchy mounted")
    cg = CgroupV2(f"/hull-rt-{uuid.uuid4().hex[:8]}", root=root)
    cg.create()
    try:
        cg.join(child)
        assert cg.procs() == [child]
        cg.set_frozen(True)
        assert cg.is_frozen()
        assert _state(child) in ("S", "D")  # frozen tasks sleep in the freezer
        cg.set_frozen(False)
        assert not cg.is_frozen()
        reopened = cgroup_from_dirs(cg.path, cg.to_dirs())
        assert reopened.procs() == [child]
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    finally:
        cg.destroy()
    assert not os.path.exists(cg.dir)


def test_v1_limits_land_in_the_controller_files(child: int) -> None:
    mounts = v1_mounts()
    if not {"memory", "pids", "cpu", "devices"} <= set(mounts):
        pytest.skip("cgroup v1 controllers are not mounted")
    cg = CgroupV1(f"/hull/hull-rt-{uuid.uuid4().hex[:8]}", mounts=mounts)
    cg.create()
    try:
        cg.apply({"memory": {"limit": 64 << 20}, "pids": {"limit": 7},
                  "cpu": {"shares": 512, "quota": 50000, "period": 100000},
                  "devices": [{"allow": False, "access": "rwm"},
                              {"allow": True, "type": "c", "major": 1, "minor": 3,
                               "access": "rwm"}]})

        def read(controller: str, name: str) -> str:
            with open(os.path.join(cg.by_controller[controller], name)) as f:
                return f.read().strip()

        assert read("memory", "memory.limit_in_bytes") == str(64 << 20)
        assert read("pids", "pids.max") == "7"
        assert (read("cpu", "cpu.shares"), read("cpu", "cpu.cfs_quota_us")) == ("512", "50000")
        assert read("devices", "devices.list") == "c 1:3 rwm"
        cg.join(child)
        assert child in cg.procs()
        assert cg.stats()["pids"] == {"current": 1, "limit": 7}
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    finally:
        cg.destroy()
        for mountpoint in set(mounts.values()):
            try:
                os.rmdir(os.path.join(mountpoint, "hull"))
            except OSError:
                pass
    assert not any(os.path.exists(d) for d in cg.dirs())


def test_device_rule_syntax() -> None:
    assert device_rule({"allow": False, "access": "rwm"}) == "a"
    assert device_rule({"type": "c", "major": 136, "minor": None, "access": "rwm"}) == \
        "c 136:* rwm"
    assert device_rule({"type": "b", "major": 7, "minor": 0, "access": "r"}) == "b 7:0 r"
