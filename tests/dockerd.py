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


@contextmanager
def private_dockerd(base: Path) -> Iterator[dict[str, str]]:
    """Start dockerd; yield the environment that points the docker CLI at it."""
    base.mkdir(parents=True, exist_ok=True)
    sock = base / "docker.sock"
    log = open(base / "dockerd.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        ["dockerd", "--host", f"unix://{sock}", "--data-root", str(base / "data"),
         "--exec-root", str(base / "exec"), "--pidfile", str(base / "dockerd.pid"),
         "--bridge", "none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
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
