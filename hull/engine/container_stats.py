"""Resource usage of containers (``hull stats``), read from their cgroup and network namespace.

A :class:`Sample` is one reading of the counters; CPU % needs two of them, as Docker
computes it: the container's CPU time over the host's CPU time in the same interval,
times the number of CPUs.  Memory is what Docker's CLI shows: usage without the inactive
page cache, against the cgroup limit (the host's memory when there is none).  Network
bytes come from ``/proc/<init pid>/net/dev``, the container's own namespace (loopback left
out); block I/O from ``blkio.throttle.io_service_bytes`` (cgroup v1) or ``io.stat`` (v2).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from hull.record import record

if TYPE_CHECKING:
    from hull.engine import Engine
    from hull.engine.container_model import Container
    from hull.runtime.cgroups import Cgroup


@record(frozen=True)
class Sample:
    """One reading of a container's counters (zeros for a container that is not running)."""

    container_id: str
    name: str
    running: bool
    cpu_ns: int = 0
    system_ns: int = 0
    online_cpus: int = 1
    memory_usage: int = 0
    memory_limit: int = 0
    pids: int = 0
    net_rx: int = 0
    net_tx: int = 0
    block_read: int = 0
    block_write: int = 0


@record(frozen=True)
class Usage:
    """What ``hull stats`` shows for a container, from two samples."""

    container_id: str
    name: str
    cpu_percent: float
    memory_usage: int
    memory_limit: int
    memory_percent: float
    net_rx: int
    net_tx: int
    block_read: int
    block_write: int
    pids: int


def system_cpu_ns() -> int:
    """The host's total CPU time (all CPUs, all states but guest) in nanoseconds."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:9]
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(v) for v in fields) * 1_000_000_000 // ticks


def host_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _keyed(path: str) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(path) as f:
            for line in f:
                key, _, value = line.partition(" ")
                if value.strip().isdigit():
                    out[key] = int(value)
    except OSError:
        pass
    return out


def _inactive_file(cgroup: Cgroup) -> int:
    if cgroup.version == 1:
        directory = cgroup.dir("memory")  # type: ignore[attr-defined]
        return _keyed(os.path.join(directory, "memory.stat")).get("total_inactive_file", 0) \
            if directory else 0
    return _keyed(os.path.join(cgroup.dir, "memory.stat")).get("inactive_file", 0)  # type: ignore[attr-defined]


def block_io(cgroup: Cgroup) -> tuple[int, int]:
    """(bytes read, bytes written) by the cgroup's processes on block devices."""
    read = write = 0
    if cgroup.version == 1:
        directory = cgroup.dir("blkio")  # type: ignore[attr-defined]
        if not directory:
            return 0, 0
        try:
            with open(os.path.join(directory, "blkio.throttle.io_service_bytes")) as f:
                for line in f:
                    fields = line.split()
                    if len(fields) == 3 and fields[1] == "Read":
                        read += int(fields[2])
                    elif len(fields) == 3 and fields[1] == "Write":
                        write += int(fields[2])
        except OSError:
            pass
        return read, write
    try:
        with open(os.path.join(cgroup.dir, "io.stat")) as f:  # type: ignore[attr-defined]
            for line in f:
                for pair in line.split()[1:]:
                    key, _, value = pair.partition("=")
                    if key == "rbytes":
                        read += int(value)
                    elif key == "wbytes":
                        write += int(value)
    except OSError:
        pass
    return read, write


def network_io(pid: int) -> tuple[int, int]:
    """(bytes received, bytes sent) on the interfaces of ``pid``'s network namespace."""
    rx = tx = 0
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.readlines()[2:]
    except OSError:
        return 0, 0
    for line in lines:
        name, _, counters = line.partition(":")
        fields = counters.split()
        if name.strip() == "lo" or len(fields) < 9:
            continue
        rx += int(fields[0])
        tx += int(fields[8])
    return rx, tx


def sample(engine: Engine, c: Container) -> Sample:
    """Read the counters of ``c`` now."""
    from hull.errors import HullError
    from hull.runtime.cgroups import open_cgroup

    if not c.running:
        return Sample(c.id, c.name, False)
    try:
        cgroup = open_cgroup(engine.containers.paths(c.id).cgroups_path)
        stats = cgroup.stats()
    except (HullError, OSError):
        return Sample(c.id, c.name, False)
    cpu = (stats.get("cpu") or {}).get("usage_ns") or 0
    memory = stats.get("memory") or {}
    usage = max(int(memory.get("usage") or 0) - _inactive_file(cgroup), 0)
    limit = int(memory.get("limit") or 0) or host_memory()
    pid = int(c.state.get("Pid") or 0)
    rx, tx = network_io(pid) if pid else (0, 0)
    read, write = block_io(cgroup)
    return Sample(c.id, c.name, True, cpu_ns=int(cpu), system_ns=system_cpu_ns(),
                  online_cpus=len(os.sched_getaffinity(0)) or 1, memory_usage=usage,
                  memory_limit=limit, pids=int((stats.get("pids") or {}).get("current") or 0),
                  net_rx=rx, net_tx=tx, block_read=read, block_write=write)


def usage(before: Sample | None, now: Sample) -> Usage:
    """What to show for ``now``, with CPU % over the time since ``before``."""
    cpu_percent = 0.0
    if before is not None and now.running and before.running:
        cpu_delta = now.cpu_ns - before.cpu_ns
        system_delta = now.system_ns - before.system_ns
        if cpu_delta > 0 and system_delta > 0:
            cpu_percent = cpu_delta / system_delta * now.online_cpus * 100.0
    memory_percent = (now.memory_usage / now.memory_limit * 100.0) if now.memory_limit else 0.0
    return Usage(now.container_id, now.name, cpu_percent, now.memory_usage, now.memory_limit,
                 memory_percent, now.net_rx, now.net_tx, now.block_read, now.block_write,
                 now.pids)


def measure(engine: Engine, containers: list[Container], interval: float = 0.5) -> list[Usage]:
    """One reading of each container, with CPU % over ``interval`` seconds."""
    first = [sample(engine, c) for c in containers]
    if any(s.running for s in first):
        time.sleep(interval)
    return [usage(before, sample(engine, c)) for before, c in zip(first, containers,
                                                                   strict=True)]
