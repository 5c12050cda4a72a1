"""Runtime-spec ``config.json`` with Docker's defaults, as plain dicts.

The engine starts from :func:`default_spec` and adjusts it for ``run`` flags; every runtime
(builtin, runc, crun) then executes the same document.  Pure data and functions: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

OCI_VERSION = "1.0.2"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Every capability Linux knows, by number (CAP_CHOWN = 0 ... CAP_CHECKPOINT_RESTORE = 40).
ALL_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
)

DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)

MASKED_PATHS: tuple[str, ...] = (
    "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
    "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
)

READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
)

NAMESPACE_TYPES: tuple[str, ...] = ("pid", "network", "ipc", "uts", "mount", "cgroup")


def default_mounts() -> list[dict]:
    """Docker's standard mounts, in the order they must be made."""
    return [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["ro", "nosuid", "noexec", "nodev"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    ]


def _char_rule(major: int, minor: int | None, allow: bool = True) -> dict:
    return {"allow": allow, "type": "c", "major": major, "minor": minor, "access": "rwm"}


def default_device_rules() -> list[dict]:
    """Docker's device cgroup: deny everything, allow the standard character devices, no fuse."""
    return [
        {"allow": False, "access": "rwm"},
        _char_rule(1, 5), _char_rule(1, 3), _char_rule(1, 9), _char_rule(1, 8),
        _char_rule(5, 0), _char_rule(5, 1), _char_rule(10, 229, allow=False),
    ]


def normalize_capability(name: str) -> str:
    """``net_admin`` / ``NET_ADMIN`` / ``CAP_NET_ADMIN`` -> ``CAP_NET_ADMIN``; ALL stays ALL."""
    upper = name.strip().upper()
    if upper == "ALL":
        return upper
    return upper if upper.startswith("CAP_") else "CAP_" + upper


def resolve_capabilities(add: Iterable[str] = (), drop: Iterable[str] = (),
                         base: Sequence[str] = DEFAULT_CAPABILITIES) -> list[str]:
    """Docker's ``--cap-add`` / ``--cap-drop`` arithmetic over ``base`` (ALL is understood).

    Raises ValueError naming an unknown capability, so callers can turn it into a user error.
    """
    adds = [normalize_capability(c) for c in add]
    drops = [normalize_capability(c) for c in drop]
    for cap in adds + drops:
        if cap != "ALL" and cap not in ALL_CAPABILITIES:
            raise ValueError(f"unknown capability: {cap!r}")
    caps = list(base)
    if "ALL" in adds:
        caps = list(ALL_CAPABILITIES)
    else:
        caps += [c for c in adds if c not in caps]
    if "ALL" in drops:
        caps = [c for c in adds if c != "ALL"] if "ALL" not in adds else []
    else:
        caps = [c for c in caps if c not in drops]
    return caps


def capability_sets(caps: Sequence[str], ambient: bool = False) -> dict:
    """The five runtime-spec capability sets for a root-style container holding ``caps``."""
    sets = {k: list(caps) for k in ("bounding", "effective", "permitted", "inheritable")}
    sets["ambient"] = list(caps) if ambient else []
    return sets


def default_spec(
    args: list[str],
    rootfs: str = "rootfs",
    *,
    env: Sequence[str] | None = None,
    cwd: str = "/",
    terminal: bool = False,
    hostname: str | None = None,
    uid: int = 0,
    gid: int = 0,
    additional_gids: Sequence[int] = (),
    umask: int | None = None,
    capabilities: Sequence[str] = DEFAULT_CAPABILITIES,
    readonly_rootfs: bool = False,
    no_new_privileges: bool = False,
    namespaces: Mapping[str, str | None] | None = None,
    cgroups_path: str | None = None,
    resources: Mapping | None = None,
    rlimits: Sequence[Mapping] = (),
    sysctl: Mapping[str, str] | None = None,
    seccomp: bool | dict = True,
    extra_mounts: Sequence[Mapping] = (),
    oom_score_adj: int | None = None,
    annotations: Mapping[str, str] | None = None,
    arch: str = "amd64",
) -> dict:
    """A runtime-spec config.json dict with Docker's defaults.

    ``namespaces`` maps a namespace type to None (new) or a path to join; by default a container
    gets new pid, mount, uts, ipc, network and cgroup namespaces.  ``resources`` is merged over
    Docker's device rules.  ``seccomp``: True for Docker's profile (resolved for
    ``capabilities``), False for none, or an explicit ``linux.seccomp`` object.
    """
    if not args:
        raise ValueError("no command given")
    ns = dict.fromkeys(NAMESPACE_TYPES) if namespaces is None else dict(namespaces)
    process: dict = {
        "terminal": terminal,
        "user": {"uid": uid, "gid": gid},
        "args": list(args),
        "env": list(env) if env is not None else [f"PATH={DEFAULT_PATH}"],
        "cwd": cwd,
        "capabilities": capability_sets(capabilities),
        "noNewPrivileges": no_new_privileges,
    }
    if additional_gids:
        process["user"]["additionalGids"] = list(additional_gids)
    if umask is not None:
        process["user"]["umask"] = umask
    if rlimits:
        process["rlimits"] = [dict(r) for r in rlimits]
    if oom_score_adj is not None:
        process["oomScoreAdj"] = oom_score_adj
    res: dict = {"devices": default_device_rules()}
    if resources:
        extra = dict(resources)
        res["devices"] += list(extra.pop("devices", []))
        res.update(extra)
    linux: dict = {
        "namespaces": [{"type": t} if p is None else {"type": t, "path": p}
                       for t, p in ns.items()],
        "resources": res,
        "maskedPaths": list(MASKED_PATHS),
        "readonlyPaths": list(READONLY_PATHS),
    }
    if cgroups_path:
        linux["cgroupsPath"] = cgroups_path
    if sysctl:
        linux["sysctl"] = dict(sysctl)
    if seccomp is True:
        from hull.oci.seccomp_profile import default_seccomp

        linux["seccomp"] = default_seccomp(capabilities, arch=arch)
    elif isinstance(seccomp, dict):
        linux["seccomp"] = seccomp
    mounts = default_mounts()
    mounts += [dict(m) for m in extra_mounts]
    spec: dict = {
        "ociVersion": OCI_VERSION,
        "process": process,
        "root": {"path": rootfs, "readonly": readonly_rootfs},
        "mounts": mounts,
        "linux": linux,
    }
    if hostname is not None and "uts" in ns:
        spec["hostname"] = hostname
    if annotations:
        spec["annotations"] = dict(annotations)
    return spec
