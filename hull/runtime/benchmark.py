"""Time create + start + wait of ``/bin/true`` in a busybox bundle, per runtime.

    python -m hull.runtime.benchmark [--runs N] [RUNTIME ...]

Builds a throw-away bundle from the host's /bin/busybox (Docker's default config.json,
including the seccomp profile), makes this process a child subreaper (runc's init is not our
child otherwise), and prints the first run and the median/min of the rest.  A measuring tool,
not a test: needs root.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import shutil
import sys
import tempfile
import time

from hull.errors import HullError
from hull.oci.runtime_spec import default_spec
from hull.runtime.base import Stdio, get_runtime

PR_SET_CHILD_SUBREAPER = 36


def make_bundle(directory: str, busybox: str = "/bin/busybox") -> str:
    rootfs = os.path.join(directory, "rootfs")
    for sub in ("bin", "dev", "proc", "sys", "tmp", "etc"):
        os.makedirs(os.path.join(rootfs, sub), exist_ok=True)
    shutil.copy2(busybox, os.path.join(rootfs, "bin", "busybox"))
    os.symlink("busybox", os.path.join(rootfs, "bin", "true"))
    spec = default_spec(["/bin/true"], cgroups_path=f"/hull/hull-bench-{os.getpid()}")
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(spec, f)
    return directory


def measure(name: str, bundle: str, state_root: str, runs: int) -> list[float]:
    """Milliseconds of create+start+wait for each run (delete is not counted)."""
    rt = get_runtime(name, state_root)
    null = os.open(os.devnull, os.O_RDWR)
    times = []
    try:
        for i in range(runs):
            cid = f"hull-bench-{os.getpid()}-{i}"
            start = time.perf_counter()
            pid = rt.create(cid, bundle, Stdio(null, null, null))
            rt.start(cid)
            os.waitpid(pid, 0)
            times.append((time.perf_counter() - start) * 1000)
            rt.delete(cid)
    finally:
        os.close(null)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("runtimes", nargs="*", default=["builtin", "runc", "crun"])
    args = parser.parse_args(argv)
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    with tempfile.TemporaryDirectory(prefix="hull-bench-") as tmp:
        bundle = make_bundle(os.path.join(tmp, "bundle"))
        for name in args.runtimes:
            try:
                times = measure(name, bundle, os.path.join(tmp, "state"), args.runs)
            except HullError as e:
                print(f"{name:8s} unavailable: {e}")
                continue
            rest = sorted(times[1:]) or times
            print(f"{name:8s} first {times[0]:6.1f} ms   median {rest[len(rest) // 2]:6.1f} ms"
                  f"   min {rest[0]:6.1f} ms   ({len(times)} runs)")
    for mountpoint in ("memory", "pids", "cpu", "cpuacct", "freezer", "devices", "blkio",
                       "cpuset", "systemd", "unified"):
        try:
            os.rmdir(os.path.join("/sys/fs/cgroup", mountpoint, "hull"))
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
