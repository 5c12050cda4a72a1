"""Control groups for one container: v1 (one directory per controller) and v2 (unified).

The runtime creates the container's cgroup before its init runs, applies
``linux.resources``, lets init join it, and uses it afterwards for pause/resume (freezer),
kill --all, OOM detection and stats.  A cgroup is identified by its ``cgroupsPath`` alone, so
any later process can reopen it with :func:`open_cgroup`.
"""

from __future__ import annotations

import errno
import os
import time
from abc import ABC, abstractmethod

from hull.errors import EngineError

CGROUP_ROOT = "/sys/fs/cgroup"
V1_CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
                  "hugetlb", "net_cls", "net_prio", "perf_event", "rdma", "misc")
UNLIMITED_V1 = 9223372036854771712  # what memory.limit_in_bytes reads when unlimited


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def _write(path: str, value: str | int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, str(value).encode())
    except OSError as e:
        raise EngineError(f"cgroup: cannot write {value!r} to {path}: {e.strerror}") from None
    finally:
        os.close(fd)


def _keyed(path: str) -> dict[str, int]:
    """Parse 'key value' lines (memory.events, memory.oom_control, cpu.stat)."""
    out: dict[str, int] = {}
    try:
        text = _read(path)
    except OSError:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def is_unified() -> bool:
    """True when /sys/fs/cgroup itself is cgroup2 (no v1 controllers anywhere)."""
    return os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))


def v1_mounts() -> dict[str, str]:
    """controller -> mount point of its v1 hierarchy, from /proc/self/mountinfo."""
    found: dict[str, str] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = right.split()
            if len(fields) < 3 or fields[0] != "cgroup":
                continue
            mountpoint = left.split()[4]
            for opt in fields[2].split(","):
                if opt in V1_CONTROLLERS:
                    found.setdefault(opt, mountpoint)
    return found


def _own_cgroups() -> dict[str, str]:
    """controller (or '' for v2) -> this process's cgroup path, from /proc/self/cgroup."""
    own: dict[str, str] = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                own[c] = path
    return own


class _Warmer:
    """State of this process's migration warmer (reset in a forked child, which has no
    thread)."""

    until = 0.0
    alive = False


def _reset_warmer() -> None:
    _Warmer.until = 0.0
    _Warmer.alive = False


os.register_at_fork(after_in_child=_reset_warmer)


def warm_up_migration(keep: float = 0.0) -> None:
    """Pay, in the background, the kernel's cost of moving a task between cgroups.

    Moving a task takes a lock whose first taker after a quiet spell waits for an RCU grace
    period (10-20 ms on a small VM) while holding the cgroup mutex, so even creating a
    cgroup waits behind it; for about one grace period after the last move, moves are
    nearly free.  A helper thread moves itself to where it already is, now, so the wait
    overlaps other work, and again every few milliseconds for ``keep`` seconds (or until
    :func:`stop_warm_up`) so the window is still open when the container's init joins.
    Best effort: any failure just means no head start.
    """
    import _thread

    _Warmer.until = max(_Warmer.until, time.monotonic() + keep)
    if _Warmer.alive:
        return
    _Warmer.alive = True
    try:
        _thread.start_new_thread(_keep_warm, ())
    except RuntimeError:
        _Warmer.alive = False


def stop_warm_up() -> None:
    """The container's processes have joined their cgroups: the warmer may rest."""
    _Warmer.until = 0.0


def _keep_warm() -> None:
    import _thread

    try:
        own = _own_cgroups()
        if is_unified():
            target = os.path.join(CGROUP_ROOT, own.get("", "/").lstrip("/"), "cgroup.procs")
            value = str(os.getpid()).encode()
        else:
            controller, mountpoint = next(iter(v1_mounts().items()))
            target = os.path.join(mountpoint, own.get(controller, "/").lstrip("/"), "tasks")
            value = str(_thread.get_native_id()).encode()
        while True:
            fd = os.open(target, os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(fd, value)
            finally:
                os.close(fd)
            if time.monotonic() >= _Warmer.until:
                return
            time.sleep(0.004)
    except (OSError, StopIteration, ValueError):
        pass
    finally:
        _Warmer.alive = False


def _resolve(cgroups_path: str, own: str) -> str:
    """Absolute cgroupsPath as is; relative ones hang below the caller's cgroup (runc's rule)."""
    if cgroups_path.startswith("/"):
        return cgroups_path
    return os.path.join(own or "/", cgroups_path)


def _makedirs(path: str) -> None:
    """makedirs that survives a concurrent rmdir of an empty shared parent (e.g. /hull)."""
    for attempt in range(5):
        try:
            os.makedirs(path, exist_ok=True)
            return
        except FileNotFoundError:
            if attempt == 4:
                raise


def _wait_rmdir(path: str, deadline: float) -> None:
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > deadline:
                raise EngineError(f"cgroup: cannot remove {path}: {e.strerror}") from None
            time.sleep(0.005)


class Cgroup(ABC):
    """The container's cgroup, whatever the hierarchy looks like."""

    version: int

    def __init__(self, path: str) -> None:
        self.path = path

    @abstractmethod
    def dirs(self) -> list[str]:
        """Every directory that makes up this cgroup."""

    @abstractmethod
    def to_dirs(self) -> dict[str, str]:
        """controller -> directory ('' for v2): enough to reopen it from any process."""

    @abstractmethod
    def create(self) -> None: ...

    @abstractmethod
    def apply(self, resources: dict) -> None: ...

    @abstractmethod
    def procs(self) -> list[int]: ...

    @abstractmethod
    def set_frozen(self, frozen: bool) -> None: ...

    @abstractmethod
    def is_frozen(self) -> bool: ...

    @abstractmethod
    def oom_kills(self) -> int: ...

    @abstractmethod
    def stats(self) -> dict: ...

    def exists(self) -> bool:
        return any(os.path.isdir(d) for d in self.dirs())

    def join(self, pid: int = 0) -> None:
        """Move ``pid`` (0: the calling process) into every directory of the cgroup."""
        for d in self.dirs():
            _write(os.path.join(d, "cgroup.procs"), pid)

    def destroy(self, timeout: float = 5.0) -> None:
        """Remove the directories, waiting for exiting processes to leave them."""
        deadline = time.monotonic() + timeout
        for d in self.dirs():
            _wait_rmdir(d, deadline)


class CgroupV1(Cgroup):
    version = 1

    def __init__(self, path: str, mounts: dict[str, str] | None = None,
                 by_controller: dict[str, str] | None = None) -> None:
        super().__init__(path)
        self.mounts = v1_mounts() if mounts is None else mounts
        if by_controller is None:
            own = _own_cgroups() if not path.startswith("/") else {}
            by_controller = {
                c: os.path.join(mp, _resolve(path, own.get(c, "/")).lstrip("/"))
                for c, mp in self.mounts.items()
            }
        self.by_controller = by_controller

    def to_dirs(self) -> dict[str, str]:
        return dict(self.by_controller)

    def dirs(self) -> list[str]:
        return sorted(set(self.by_controller.values()))

    def dir(self, controller: str) -> str | None:
        return self.by_controller.get(controller)

    def create(self) -> None:
        for d in self.dirs():
            _makedirs(d)
        cpuset = self.dir("cpuset")
        if cpuset:
            self._fill_cpuset(cpuset)

    def _fill_cpuset(self, leaf: str) -> None:
        """New cpuset cgroups start with no CPUs or memory nodes; inherit the parent's."""
        chain = []
        d = leaf
        while d != self.mounts["cpuset"] and d != "/":
            chain.append(d)
            d = os.path.dirname(d)
        for d in reversed(chain):
            parent = os.path.dirname(d)
            for name in ("cpuset.cpus", "cpuset.mems"):
                if not _read(os.path.join(d, name)):
                    _write(os.path.join(d, name), _read(os.path.join(parent, name)))

    def _set(self, controller: str, name: str, value: str | int) -> None:
        d = self.dir(controller)
        if d is None:
            raise EngineError(f"cgroup: the {controller} controller is not available")
        _write(os.path.join(d, name), value)

    def _has(self, controller: str, name: str) -> bool:
        d = self.dir(controller)
        return d is not None and os.path.exists(os.path.join(d, name))

    def apply(self, resources: dict) -> None:
        mem = resources.get("memory") or {}
        if mem.get("limit") is not None:
            self._set("memory", "memory.limit_in_bytes", mem["limit"])
        if mem.get("swap") is not None and self._has("memory", "memory.memsw.limit_in_bytes"):
            self._set("memory", "memory.memsw.limit_in_bytes", mem["swap"])
        if mem.get("reservation") is not None:
            self._set("memory", "memory.soft_limit_in_bytes", mem["reservation"])
        if mem.get("swappiness") is not None:
            self._set("memory", "memory.swappiness", mem["swappiness"])
        if mem.get("disableOOMKiller"):
            self._set("memory", "memory.oom_control", 1)
        cpu = resources.get("cpu") or {}
        if cpu.get("shares"):
            self._set("cpu", "cpu.shares", cpu["shares"])
        if cpu.get("period"):
            self._set("cpu", "cpu.cfs_period_us", cpu["period"])
        if cpu.get("quota"):
            self._set("cpu", "cpu.cfs_quota_us", cpu["quota"])
        if cpu.get("cpus"):
            self._set("cpuset", "cpuset.cpus", cpu["cpus"])
        if cpu.get("mems"):
            self._set("cpuset", "cpuset.mems", cpu["mems"])
        pids = resources.get("pids") or {}
        if pids.get("limit"):
            self._set("pids", "pids.max", pids["limit"] if pids["limit"] > 0 else "max")
        blkio = resources.get("blockIO") or {}
        if blkio.get("weight") and self._has("blkio", "blkio.weight"):
            self._set("blkio", "blkio.weight", blkio["weight"])
        net = resources.get("network") or {}
        if net.get("classID") is not None and self.dir("net_cls"):
            self._set("net_cls", "net_cls.classid", net["classID"])
        if resources.get("devices") and self.dir("devices"):
            for rule in resources["devices"]:
                self._set("devices", "devices.allow" if rule.get("allow") else "devices.deny",
                          device_rule(rule))

    def _primary(self) -> str:
        for c in ("freezer", "pids", "memory", "cpu"):
            if c in self.by_controller:
                return self.by_controller[c]
        return self.dirs()[0]

    def procs(self) -> list[int]:
        try:
            text = _read(os.path.join(self._primary(), "cgroup.procs"))
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def set_frozen(self, frozen: bool) -> None:
        want = "FROZEN" if frozen else "THAWED"
        state_file = os.path.join(self.by_controller.get("freezer", ""), "freezer.state")
        if "freezer" not in self.by_controller:
            raise EngineError("cgroup: the freezer controller is not available")
        deadline = time.monotonic() + 10
        while True:
            _write(state_file, want)
            if _read(state_file) == want:
                return
            if time.monotonic() > deadline:
                raise EngineError(f"cgroup: {state_file} did not reach {want}")
            time.sleep(0.001)

    def is_frozen(self) -> bool:
        d = self.dir("freezer")
        if d is None:
            return False
        try:
            return _read(os.path.join(d, "freezer.state")) in ("FROZEN", "FREEZING")
        except OSError:
            return False

    def oom_kills(self) -> int:
        d = self.dir("memory")
        if d is None:
            return 0
        return _keyed(os.path.join(d, "memory.oom_control")).get("oom_kill", 0)

    def stats(self) -> dict:
        def num(controller: str, name: str) -> int | None:
            d = self.dir(controller)
            try:
                return int(_read(os.path.join(d, name))) if d else None
            except (OSError, ValueError):
                return None

        limit = num("memory", "memory.limit_in_bytes")
        pids_max = None
        d = self.dir("pids")
        if d:
            raw = _read(os.path.join(d, "pids.max"))
            pids_max = None if raw == "max" else int(raw)
        return {
            "cpu": {"usage_ns": num("cpuacct", "cpuacct.usage")},
            "memory": {"usage": num("memory", "memory.usage_in_bytes"),
                       "max_usage": num("memory", "memory.max_usage_in_bytes"),
                       "limit": None if limit is None or limit >= UNLIMITED_V1 else limit},
            "pids": {"current": num("pids", "pids.current"), "limit": pids_max},
        }


def device_rule(rule: dict) -> str:
    """runtime-spec device cgroup rule -> 'c 1:3 rwm' as v1's devices.allow/deny expect."""
    kind = rule.get("type") or "a"
    major = "*" if rule.get("major") is None or rule["major"] < 0 else rule["major"]
    minor = "*" if rule.get("minor") is None or rule["minor"] < 0 else rule["minor"]
    access = rule.get("access") or "rwm"
    if kind == "a" and major == "*" and minor == "*":
        return "a"
    return f"{kind} {major}:{minor} {access}"


class CgroupV2(Cgroup):
    version = 2

    def __init__(self, path: str, root: str = CGROUP_ROOT, directory: str | None = None) -> None:
        super().__init__(path)
        self.root = root
        if directory is None:
            own = _own_cgroups().get("", "/") if not path.startswith("/") else "/"
            directory = os.path.join(root, _resolve(path, own).lstrip("/"))
        self.dir = directory

    def to_dirs(self) -> dict[str, str]:
        return {"": self.dir}

    def dirs(self) -> list[str]:
        return [self.dir]

    def create(self) -> None:
        """Create the directory and enable the available controllers on the way down."""
        rel = os.path.relpath(self.dir, self.root)
        d = self.root
        for part in rel.split("/"):
            try:
                wanted = _read(os.path.join(d, "cgroup.controllers")).split()
                enabled = _read(os.path.join(d, "cgroup.subtree_control")).split()
                missing = [c for c in wanted if c not in enabled]
                if missing:
                    _write(os.path.join(d, "cgroup.subtree_control"),
                           " ".join("+" + c for c in missing))
            except (OSError, EngineError):
                pass  # a controller we cannot delegate just stays off
            d = os.path.join(d, part)
            _makedirs(d)

    def _set(self, name: str, value: str | int) -> None:
        _write(os.path.join(self.dir, name), value)

    def apply(self, resources: dict) -> None:
        mem = resources.get("memory") or {}
        if mem.get("limit") is not None:
            self._set("memory.max", mem["limit"] if mem["limit"] > 0 else "max")
        if mem.get("swap") is not None and os.path.exists(os.path.join(self.dir,
                                                                       "memory.swap.max")):
            swap = mem["swap"]
            limit = mem.get("limit") or 0
            self._set("memory.swap.max", "max" if swap < 0 else max(swap - limit, 0))
        if mem.get("reservation") is not None:
            self._set("memory.low", mem["reservation"])
        if mem.get("disableOOMKiller"):
            self._set("memory.oom.group", 0)
        cpu = resources.get("cpu") or {}
        if cpu.get("shares"):
            self._set("cpu.weight", 1 + ((int(cpu["shares"]) - 2) * 9999) // 262142)
        if cpu.get("quota") or cpu.get("period"):
            quota = cpu.get("quota") or -1
            self._set("cpu.max", f"{'max' if quota < 0 else quota} {cpu.get('period') or 100000}")
        if cpu.get("cpus"):
            self._set("cpuset.cpus", cpu["cpus"])
        if cpu.get("mems"):
            self._set("cpuset.mems", cpu["mems"])
        pids = resources.get("pids") or {}
        if pids.get("limit"):
            self._set("pids.max", pids["limit"] if pids["limit"] > 0 else "max")
        blkio = resources.get("blockIO") or {}
        if blkio.get("weight"):
            self._set("io.weight", blkio["weight"])
        for key, value in (resources.get("unified") or {}).items():
            if "/" in key or key.startswith("."):
                raise EngineError(f"cgroup: invalid unified key {key!r}")
            self._set(key, value)

    def procs(self) -> list[int]:
        try:
            return [int(p) for p in _read(os.path.join(self.dir, "cgroup.procs")).split()]
        except OSError:
            return []

    def set_frozen(self, frozen: bool) -> None:
        self._set("cgroup.freeze", 1 if frozen else 0)
        deadline = time.monotonic() + 10
        while _keyed(os.path.join(self.dir, "cgroup.events")).get("frozen") != int(frozen):
            if time.monotonic() > deadline:
                raise EngineError(f"cgroup: {self.dir} did not {'freeze' if frozen else 'thaw'}")
            time.sleep(0.001)

    def is_frozen(self) -> bool:
        try:
            return _read(os.path.join(self.dir, "cgroup.freeze")) == "1"
        except OSError:
            return False

    def oom_kills(self) -> int:
        return _keyed(os.path.join(self.dir, "memory.events")).get("oom_kill", 0)

    def stats(self) -> dict:
        def num(name: str) -> int | None:
            try:
                raw = _read(os.path.join(self.dir, name))
            except OSError:
                return None
            return None if raw == "max" else int(raw)

        usec = _keyed(os.path.join(self.dir, "cpu.stat")).get("usage_usec")
        return {
            "cpu": {"usage_ns": None if usec is None else usec * 1000},
            "memory": {"usage": num("memory.current"), "max_usage": num("memory.peak"),
                       "limit": num("memory.max")},
            "pids": {"current": num("pids.current"), "limit": num("pids.max")},
        }


def open_cgroup(cgroups_path: str) -> Cgroup:
    """The container cgroup at ``cgroups_path`` on this host's hierarchy (v2 or v1)."""
    if is_unified():
        return CgroupV2(cgroups_path)
    return CgroupV1(cgroups_path)


def cgroup_from_dirs(path: str, dirs: dict[str, str]) -> Cgroup:
    """Reopen a cgroup recorded with :meth:`Cgroup.to_dirs`."""
    if "" in dirs:
        return CgroupV2(path, directory=dirs[""])
    mounts = v1_mounts()
    return CgroupV1(path, mounts={c: mounts[c] for c in dirs if c in mounts},
                    by_controller=dirs)
