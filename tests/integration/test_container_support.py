"""Fixtures and helpers for the container tests (no tests here).

``ctr`` is the ``hull`` fixture with a busybox image and a cleanup that removes every
container and then checks that nothing of theirs is left on the host: mounts, cgroups,
network namespace files, shim processes.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import HullEnv

RUNTIMES = ["builtin", "runc"]


def cgroup_mounts() -> list[str]:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] in ("cgroup", "cgroup2"):
                out.append(left.split()[4])
    return out


def leftover_cgroups(ids: list[str]) -> list[str]:
    return [os.path.join(m, "hull", i) for m in cgroup_mounts() for i in ids
            if os.path.isdir(os.path.join(m, "hull", i))]


def mounts_below(path: Path) -> list[str]:
    prefix = str(path) + "/"
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(prefix)]


def shim_processes(root: Path) -> list[int]:
    """Processes that are shims (or containers) of this root: their environment or command
    line mentions it (shims are forked from a CLI whose HULL_ROOT is the root)."""
    found = []
    needle = str(root).encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if needle in env:
            found.append(int(name))
    return found


@pytest.fixture(scope="module", autouse=True)
def _remove_hull_parent_cgroups() -> Iterator[None]:
    """Containers share a /hull parent cgroup that stays; remove the ones these tests made."""
    before = {os.path.join(m, "hull") for m in cgroup_mounts()
              if os.path.isdir(os.path.join(m, "hull"))}
    yield
    for m in cgroup_mounts():
        parent = os.path.join(m, "hull")
        if parent not in before and os.path.isdir(parent):
            try:
                os.rmdir(parent)
            except OSError:
                pass


class Ctr(HullEnv):
    """A HullEnv with container helpers."""

    def inspect(self, name: str) -> dict:
        return json.loads(self.ok("inspect", name))[0]

    def state(self, name: str) -> dict:
        return self.inspect(name)["State"]

    def all_ids(self) -> list[str]:
        out = self.run("ps", "-aq", "--no-trunc")
        return out.stdout.split() if out.returncode == 0 else []

    def wait_for(self, predicate, timeout: float = 20.0, what: str = "condition"):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)


@pytest.fixture
def ctr(hull: HullEnv, busybox: str) -> Iterator[Ctr]:
    env = Ctr(root=hull.root, run_root=hull.run_root)
    seen: set[str] = set()
    yield env
    ids = env.all_ids()
    seen.update(ids)
    if ids:
        env.run("rm", "-f", *ids, timeout=120)
    db_ids = _ids_in_db(env.root)
    seen.update(db_ids)
    problems = []
    if env.all_ids():
        problems.append(f"containers remain: {env.all_ids()}")
    if mounts_below(env.root) or mounts_below(env.run_root):
        problems.append(f"mounts remain: {mounts_below(env.root) + mounts_below(env.run_root)}")
    left = leftover_cgroups(sorted(seen))
    if left:
        problems.append(f"cgroups remain: {left}")
    netns = env.run_root / "netns"
    if netns.is_dir() and os.listdir(netns):
        problems.append(f"netns files remain: {os.listdir(netns)}")
    procs = shim_processes(env.root)
    if procs:
        problems.append(f"processes remain: {procs}")
        for pid in procs:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
    assert not problems, "; ".join(problems)


def _ids_in_db(root: Path) -> list[str]:
    import sqlite3

    path = root / "hull.db"
    if not path.exists():
        return []
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT id FROM containers")]
    finally:
        conn.close()


def runtime_available(name: str) -> bool:
    return name == "builtin" or shutil.which(name) is not None


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    if not runtime_available(request.param):
        pytest.skip(f"{request.param} is not installed")
    return request.param
