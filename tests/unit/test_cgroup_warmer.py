"""The cgroup-move warmer repeats until it is told to rest, and a forked child starts clean."""

from __future__ import annotations

import os
import time

from hull.runtime import cgroups


def _wait_until(check, seconds: float = 2.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


def test_warmer_keeps_going_until_stopped() -> None:
    cgroups.warm_up_migration(keep=30.0)
    try:
        time.sleep(0.05)
        assert cgroups._Warmer.alive  # still moving itself every few milliseconds
        cgroups.warm_up_migration(keep=30.0)  # a second caller shares the running warmer
    finally:
        cgroups.stop_warm_up()
    assert _wait_until(lambda: not cgroups._Warmer.alive)
    with open("/proc/self/cgroup") as f:
        before = f.read()
    cgroups.warm_up_migration()  # one move, to where the thread already is
    assert _wait_until(lambda: not cgroups._Warmer.alive)
    with open("/proc/self/cgroup") as f:
        assert f.read() == before


def test_forked_child_has_no_warmer() -> None:
    cgroups.warm_up_migration(keep=30.0)
    try:
        pid = os.fork()
        if pid == 0:
            os._exit(0 if not cgroups._Warmer.alive and cgroups._Warmer.until == 0 else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        cgroups.stop_warm_up()
    assert _wait_until(lambda: not cgroups._Warmer.alive)
