"""Shared fixtures: a private engine root per test, a locally made busybox image,
and a session guard that fails the run if anything leaked onto the host."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"


def _mounts() -> set[str]:
    with open("/proc/self/mountinfo") as f:
        return {line.split()[4] for line in f}


def _links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def _netns() -> set[str]:
    try:
        return set(os.listdir("/run/netns"))
    except FileNotFoundError:
        return set()


def _cgroups() -> set[str]:
    found: set[str] = set()
    for base in ("/sys/fs/cgroup", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids",
                 "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/freezer"):
        for sub in ("hull", ""):
            d = os.path.join(base, sub) if sub else base
            try:
                found |= {os.path.join(d, n) for n in os.listdir(d) if n.startswith("hull")}
            except (FileNotFoundError, NotADirectoryError):
                pass
    return found


def _remove_empty_parent_cgroups() -> None:
    """Runtimes create a shared ``hull`` parent cgroup; it may go once every child is gone."""
    for cg in _cgroups():
        if os.path.basename(cg) == "hull":
            try:
                os.rmdir(cg)
            except OSError:
                pass  # still has children: that is a real leak and gets reported


@pytest.fixture(scope="session", autouse=True)
def no_leaks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Fail the session if tests left mounts, links, namespaces or cgroups behind."""
    before = (_mounts(), _links(), _netns(), _cgroups())
    yield
    _remove_empty_parent_cgroups()
    after = (_mounts(), _links(), _netns(), _cgroups())
    leaked = {
        name: sorted(a - b)
        for name, b, a in zip(("mounts", "links", "netns", "cgroups"), before, after, strict=True)
        if a - b
    }
    if leaked:
        pytest.fail(f"tests leaked host resources: {leaked}", pytrace=False)


@dataclass
class HullEnv:
    """One private engine root and a way to run the real ``hull`` CLI against it."""

    root: Path
    run_root: Path

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["HULL_ROOT"] = str(self.root)
        env["HULL_RUN_ROOT"] = str(self.run_root)
        env.pop("HULL_DEBUG", None)
        return env

    def run(self, *args: str, input: bytes | str | None = None, check: bool = False,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``hull ARGS`` as a user would; text output."""
        if isinstance(input, bytes):
            input = input.decode()
        proc = subprocess.run([sys.executable, "-m", "hull", *args], input=input,
                              capture_output=True, text=True, env=self.env(), timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"hull {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    def ok(self, *args: str, input: bytes | str | None = None) -> str:
        """Run and require success; return stdout."""
        return self.run(*args, input=input, check=True).stdout

    def run_bytes(self, *args: str, input: bytes | None = None,
                  timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "hull", *args], input=input,
                              capture_output=True, env=self.env(), timeout=timeout)


@pytest.fixture
def hull(tmp_path: Path) -> Iterator[HullEnv]:
    """A fresh engine root for one test."""
    env = HullEnv(root=tmp_path / "root", run_root=tmp_path / "run")
    yield env
    _remove_host_networking(env)
    _unmount_below(env.root)
    _unmount_below(env.run_root)


def _remove_host_networking(env: HullEnv) -> None:
    """The root's default bridge and nftables table stay between containers (like
    docker0); they go with the test's root."""
    from hull.errors import HullError
    from hull.network.plumbing import remove_host_networking

    try:
        remove_host_networking(str(env.root), str(env.run_root))
    except (HullError, OSError) as e:
        print(f"cannot remove the networking of {env.root}: {e}", file=sys.stderr)


def _unmount_below(path: Path) -> None:
    """Last-resort cleanup so one failing test does not cascade into leak failures."""
    prefix = str(path) + "/"
    for mnt in sorted((m for m in _mounts() if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], check=False)


@pytest.fixture(scope="session")
def busybox_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A busybox root filesystem tar, made from Debian's busybox-static."""
    if not os.path.exists("/bin/busybox"):
        pytest.skip("busybox-static is not installed (scripts/setup.sh installs it)")
    out = tmp_path_factory.mktemp("busybox") / "busybox.tar"
    subprocess.run([sys.executable, str(SCRIPTS / "make_busybox_tar.py"), str(out)], check=True)
    return out


@pytest.fixture
def busybox(hull: HullEnv, busybox_tar: Path) -> str:
    """``busybox:latest`` imported into the test's root; returns its image id."""
    return hull.ok("import", str(busybox_tar), "busybox:latest").strip()


Runner = Callable[..., subprocess.CompletedProcess[str]]
