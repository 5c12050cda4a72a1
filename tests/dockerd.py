"""A private Docker engine for interoperability tests (Debian's docker.io).

It runs on its own socket, data root and exec root, with no networking of its
own (no bridge, no iptables), and is stopped and cleaned up afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def available() -> bool:
    return shutil.which("dockerd") is not None and shutil.which("docker") is not None


BRIDGE = "hldockerd0"
BRIDGE_SUBNET = "10.213.250.1/24"


def _networking_args(bridge: bool) -> list[str]:
    if not bridge:
        return ["--bridge", "none", "--iptables=false", "--ip6tables=false", "--ip-masq=false"]
    # Docker's default networking (bridge, iptables NAT, masquerade) on a bridge made here,
    # so the host's docker0 is never touched.
    subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "add", BRIDGE_SUBNET, "dev", BRIDGE], check=True)
    subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)
    return ["--bridge", BRIDGE, "--iptables=true", "--ip6tables=false", "--ip-masq=true"]


def _iptables_state() -> tuple[str, str]:
    save = subprocess.run(["iptables-save"], capture_output=True, text=True, check=False)
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        return save.stdout, f.read().strip()


def _restore_networking(state: tuple[str, str]) -> None:
    """Put iptables and ip_forward back as they were and remove the bridge and the links
    Docker made (its chains, rules and veths).  A table that did not exist before (the
    usual case) is emptied and its chains removed; one that did gets its saved rules back."""
    rules, forward = state
    existed = {line[1:].strip() for line in rules.splitlines() if line.startswith("*")}
    for table in ("filter", "nat"):
        if table in existed:
            continue
        # iptables over nftables: the table goes entirely; legacy iptables: emptied
        if subprocess.run(["nft", "delete", "table", "ip", table], check=False,
                          capture_output=True).returncode == 0:
            continue
        subprocess.run(["iptables", "-t", table, "-F"], check=False, capture_output=True)
        subprocess.run(["iptables", "-t", table, "-X"], check=False, capture_output=True)
        if table == "filter":
            subprocess.run(["iptables", "-P", "FORWARD", "ACCEPT"], check=False,
                           capture_output=True)
    if existed:
        subprocess.run(["iptables-restore"], input=rules, text=True, check=False)
    with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
        f.write(forward)
    subprocess.run(["ip", "link", "del", BRIDGE], check=False, capture_output=True)


@contextmanager
def private_dockerd(base: Path, bridge: bool = False) -> Iterator[dict[str, str]]:
    """Start dockerd; yield the environment that points the docker CLI at it.

    ``bridge``: with Docker's default bridge networking (a bridge of its own and iptables
    rules, all removed afterwards) instead of none, for like-for-like comparisons of the
    default network."""
    base.mkdir(parents=True, exist_ok=True)
    sock = base / "docker.sock"
    saved = _iptables_state() if bridge else None
    log = open(base / "dockerd.log", "wb")
    try:
        networking = _networking_args(bridge)
    except BaseException:
        log.close()
        if saved is not None:
            _restore_networking(saved)
        raise
    proc = subprocess.Popen(
        ["dockerd", "--host", f"unix://{sock}", "--data-root", str(base / "data"),
         "--exec-root", str(base / "exec"), "--pidfile", str(base / "dockerd.pid"),
         *networking,
         "--storage-driver", "overlay2", "--containerd-namespace", f"hulltest{os.getpid()}",
         "--containerd-plugins-namespace", f"hulltestp{os.getpid()}"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}")
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"dockerd exited: {(base / 'dockerd.log').read_text()[-2000:]}")
            if sock.exists() and subprocess.run(["docker", "version"], env=env,
                                                capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("dockerd did not start within 60 s")
        yield env
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        # containerd (started by dockerd) lives in the same session; make sure it is gone.
        subprocess.run(["pkill", "-KILL", "-s", str(proc.pid)], check=False)
        log.close()
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f]
        for m in sorted((m for m in mounts if m.startswith(str(base))), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], check=False)
        shutil.rmtree(base, ignore_errors=True)
        if saved is not None:
            _restore_networking(saved)
