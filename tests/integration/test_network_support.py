"""Fixtures for the network tests: a private engine root whose networks use their own
subnets (from 10.213.0.0/16, one /20 per test), their own bridge and nftables table names,
and a cleanup that removes containers, networks, bridges, veths, the nftables table and the
resolver process even when the test failed."""

from __future__ import annotations

import hashlib
import itertools
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import HullEnv

_slots = itertools.count()


@dataclass
class NetEnv:
    """A hull root for network tests plus the names of what it may create on the host."""

    hull: HullEnv
    base: str          # first two octets and the third-octet offset of this test's /20
    third: int

    def subnet(self, index: int) -> str:
        """The test's index-th /24 (index 0..7; the address pool has the rest)."""
        return f"10.213.{self.third + index}.0/24"

    def address(self, index: int, host: int) -> str:
        return f"10.213.{self.third + index}.{host}"

    def run(self, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
        return self.hull.run(*args, **kw)  # type: ignore[arg-type]

    def ok(self, *args: str) -> str:
        return self.hull.ok(*args)

    def db(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.hull.root / "hull.db")
        conn.row_factory = sqlite3.Row
        return conn

    def bridges(self) -> list[str]:
        path = self.hull.root / "hull.db"
        if not path.exists():
            return []
        with self.db() as conn:
            try:
                return [r["bridge"] for r in conn.execute(
                    "SELECT bridge FROM networks WHERE bridge != ''")]
            except sqlite3.OperationalError:
                return []

    @property
    def table(self) -> str:
        return "hull_" + hashlib.sha256(str(self.hull.root).encode()).hexdigest()[:8]

    def netd_pid(self) -> int | None:
        try:
            return int((self.hull.run_root / "network" / "netd.pid").read_text())
        except (OSError, ValueError):
            return None


def links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def own_links(env: NetEnv) -> set[str]:
    """Links of this root present on the host: its bridges and its containers' veths (other
    tests on the host create links of their own at the same time)."""
    from hull.network.plumbing import veth_name

    path = env.hull.root / "hull.db"
    if not path.exists():
        return set()
    with env.db() as conn:
        nets = [r["id"] for r in conn.execute("SELECT id FROM networks")]
        bridges = [r["bridge"] for r in conn.execute("SELECT bridge FROM networks")]
        ids = [r["id"] for r in conn.execute("SELECT id FROM containers")]
    names = {veth_name(c, n) for c in ids for n in nets} | {b for b in bridges if b}
    return names & links()


def nft_tables() -> str:
    return subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout


def http_get(url: str, timeout: float = 5.0) -> str:
    """A real HTTP client request (no proxy), body as text."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as response:
        return response.read().decode()


def wait_http(url: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return http_get(url, timeout=2.0)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def httpd_cmd(text: str, port: int) -> list[str]:
    """busybox httpd serving ``text`` at / on ``port``, in the foreground."""
    return ["sh", "-c", f"mkdir -p /www && echo {text} > /www/index.html &&"
                        f" exec httpd -f -p {port} -h /www"]


def cleanup(env: NetEnv) -> None:
    """Remove everything the test's root may have put on the host."""
    h = env.hull
    ids = h.run("ps", "-aq").stdout.split()
    if ids:
        h.run("rm", "-f", *ids)
    h.run("network", "prune", "-f")
    bridges = env.bridges()
    pid = env.netd_pid()
    if pid:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for name in bridges:
        if os.path.exists(f"/sys/class/net/{name}"):
            subprocess.run(["ip", "link", "del", name], check=False, capture_output=True)
    subprocess.run(["nft", "delete", "table", "ip", env.table], check=False,
                   capture_output=True)
    netns_dir = h.run_root / "netns"
    if netns_dir.exists():
        for f in netns_dir.iterdir():
            subprocess.run(["umount", "-l", str(f)], check=False, capture_output=True)


@pytest.fixture(name="net")
def net_fixture(hull: HullEnv, busybox: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[NetEnv]:
    if not os.path.exists("/sys/class/net") or subprocess.run(
            ["nft", "list", "tables"], capture_output=True).returncode != 0:
        pytest.skip("nftables is not usable on this host")
    third = (next(_slots) % 15) * 16 + 16
    # explicit subnets use the lower half of the test's /20, the pool the upper half
    monkeypatch.setenv("HULL_ADDRESS_POOL", f"base=10.213.{third + 8}.0/21,size=24")
    env = NetEnv(hull, "10.213", third)
    try:
        yield env
    finally:
        cleanup(env)


def assert_clean(env: NetEnv) -> None:
    """No container link and no published-port rule of this root left on the host.

    The default bridge and its table stay between containers, like docker0; the
    root's teardown (the ``hull`` fixture) removes them.
    """
    left = own_links(env) - set(env.bridges())
    assert not left, f"links left behind: {left}"
    if env.table in nft_tables():
        rules = subprocess.run(["nft", "list", "table", "ip", env.table], capture_output=True,
                               text=True).stdout
        assert "dnat to" not in rules, rules


def netd_running(env: NetEnv) -> bool:
    pid = env.netd_pid()
    return pid is not None and os.path.exists(f"/proc/{pid}")


def bridge_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()
