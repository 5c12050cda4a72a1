"""A container's runtime-spec config.json, from its Config and HostConfig (Docker's shapes).

Starts from :func:`hull.oci.runtime_spec.default_spec` (Docker's defaults: capabilities,
seccomp, masked paths, device rules) and applies what ``run`` asked for: user, environment,
limits, privileges, the network namespace made by the engine, the /etc files and --init.
"""

from __future__ import annotations

import os

from hull.engine.container_user import ExecUser
from hull.errors import InvalidArgument

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

INIT_PATH_IN_CONTAINER = "/sbin/docker-init"
INIT_CANDIDATES = ("/usr/bin/tini-static", "/usr/bin/docker-init", "/usr/libexec/docker/docker-init",
                   "/usr/bin/tini")
CPU_PERIOD = 100_000
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "s390x": "s390x",
         "ppc64le": "ppc64le", "riscv64": "riscv64"}
_RLIMIT_NAMES = {
    "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
    "locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE",
    "nice": "RLIMIT_NICE", "nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC",
    "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO", "rttime": "RLIMIT_RTTIME",
    "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK", "as": "RLIMIT_AS",
}


def init_binary() -> str:
    """The host's static init for ``--init`` (Docker ships tini as docker-init)."""
    for path in INIT_CANDIDATES:
        if os.path.exists(path):
            return os.path.realpath(path)
    import shutil

    found = shutil.which("docker-init") or shutil.which("tini")
    if not found:
        raise InvalidArgument("--init needs tini (docker-init) on the host; it was not found")
    return found


def host_capabilities(known: tuple[str, ...]) -> list[str]:
    """--privileged: every capability this engine holds itself (its bounding set), since a
    process cannot hand out more than it has (e.g. inside another container)."""
    try:
        with open("/proc/self/status") as f:
            line = next(x for x in f if x.startswith("CapBnd:"))
        mask = int(line.split()[1], 16)
    except (OSError, StopIteration, ValueError):
        return list(known)
    return [cap for bit, cap in enumerate(known) if mask & (1 << bit)]


def process_args(config: dict[str, Any], host_config: dict[str, Any]) -> list[str]:
    args = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    if host_config.get("Init"):
        args = [INIT_PATH_IN_CONTAINER, "--", *args]
    return args


def process_env(config: dict[str, Any], hostname: str, home: str) -> list[str]:
    """Docker's order: PATH default, HOSTNAME, TERM for a tty, then the container's Env."""
    env = list(config.get("Env") or [])
    keys = {e.split("=", 1)[0] for e in env}
    head = []
    if "PATH" not in keys:
        from hull.oci.runtime_spec import DEFAULT_PATH

        head.append(f"PATH={DEFAULT_PATH}")
    head.append(f"HOSTNAME={hostname}")
    if config.get("Tty") and "TERM" not in keys:
        head.append("TERM=xterm")
    if "HOME" not in keys:
        env.append(f"HOME={home}")
    return [e for e in head if e.split("=", 1)[0] not in keys] + env


def build_spec(container_id: str, config: dict[str, Any], host_config: dict[str, Any],
               rootfs: str, user: ExecUser, files: dict[str, str], netns: str | None,
               cgroups_path: str, console_size: tuple[int, int] | None = None) -> dict:
    """The config.json document for one start of a container."""
    from hull.oci.runtime_spec import (
        ALL_CAPABILITIES,
        NAMESPACE_TYPES,
        default_spec,
        resolve_capabilities,
    )

    privileged = bool(host_config.get("Privileged"))
    security = _security_options(host_config.get("SecurityOpt") or [])
    if privileged:
        caps = host_capabilities(ALL_CAPABILITIES)
    else:
        try:
            caps = resolve_capabilities(host_config.get("CapAdd") or [],
                                        host_config.get("CapDrop") or [])
        except ValueError as e:
            raise InvalidArgument(str(e)) from None
    namespaces: dict[str, str | None] = dict.fromkeys(NAMESPACE_TYPES)
    network_mode = host_config.get("NetworkMode") or "default"
    if network_mode == "host":
        del namespaces["network"]
    elif netns:
        namespaces["network"] = netns
    hostname = config.get("Hostname") or container_id[:12]
    mounts = [
        {"destination": "/etc/resolv.conf", "type": "bind", "source": files["ResolvConfPath"],
         "options": ["rbind", "rprivate"]},
        {"destination": "/etc/hostname", "type": "bind", "source": files["HostnamePath"],
         "options": ["rbind", "rprivate"]},
        {"destination": "/etc/hosts", "type": "bind", "source": files["HostsPath"],
         "options": ["rbind", "rprivate"]},
    ]
    if host_config.get("Init"):
        mounts.append({"destination": INIT_PATH_IN_CONTAINER, "type": "bind",
                       "source": init_binary(), "options": ["bind", "ro"]})
    spec = default_spec(
        process_args(config, host_config), rootfs,
        env=process_env(config, hostname, user.home),
        cwd=config.get("WorkingDir") or "/",
        terminal=bool(config.get("Tty")),
        hostname=hostname,
        uid=user.uid, gid=user.gid, additional_gids=user.additional_gids,
        capabilities=caps,
        readonly_rootfs=bool(host_config.get("ReadonlyRootfs")),
        no_new_privileges=security["no-new-privileges"],
        namespaces=namespaces,
        cgroups_path=cgroups_path,
        resources=_resources(host_config, privileged),
        rlimits=_rlimits(host_config.get("Ulimits") or []),
        seccomp=not privileged and security["seccomp"],
        extra_mounts=mounts,
        arch=_ARCH.get(os.uname().machine, os.uname().machine),
    )
    if config.get("Domainname"):
        spec["domainname"] = config["Domainname"]
    if console_size and config.get("Tty"):
        spec["process"]["consoleSize"] = {"height": console_size[0], "width": console_size[1]}
    if host_config.get("ShmSize"):
        for m in spec["mounts"]:
            if m["destination"] == "/dev/shm":
                m["options"] = [o for o in m["options"] if not o.startswith("size=")] + [
                    f"size={int(host_config['ShmSize']) // 1024}k"]
    if privileged:
        _unconfine(spec)
    return spec


def _security_options(options: list[str]) -> dict[str, bool]:
    out = {"seccomp": True, "no-new-privileges": False}
    for opt in options:
        key, sep, value = opt.partition("=")
        if not sep:
            key, sep, value = opt.partition(":")
        if key == "no-new-privileges":
            out["no-new-privileges"] = value.lower() in ("", "true", "1")
        elif key == "seccomp" and value == "unconfined":
            out["seccomp"] = False
        elif key in ("apparmor", "label"):
            continue  # no LSM here: accepted and ignored, as Docker does without one
        else:
            raise InvalidArgument(f'invalid --security-opt: "{opt}"')
    return out


def _resources(host_config: dict[str, Any], privileged: bool) -> dict:
    res: dict[str, Any] = {}
    memory = int(host_config.get("Memory") or 0)
    if memory:
        res["memory"] = {"limit": memory}
    cpu: dict[str, int] = {}
    nano = int(host_config.get("NanoCpus") or 0)
    if nano:
        cpu["quota"] = nano * CPU_PERIOD // 1_000_000_000
        cpu["period"] = CPU_PERIOD
    if host_config.get("CpuShares"):
        cpu["shares"] = int(host_config["CpuShares"])
    if cpu:
        res["cpu"] = cpu
    pids = host_config.get("PidsLimit")
    if pids and int(pids) > 0:
        res["pids"] = {"limit": int(pids)}
    if privileged:
        res["devices"] = [{"allow": True, "access": "rwm"}]
    return res


def _rlimits(ulimits: list[dict]) -> list[dict]:
    out: dict[str, dict] = {}
    for u in ulimits:
        name = _RLIMIT_NAMES.get(str(u.get("Name", "")).lower())
        if name is None:
            raise InvalidArgument(f"invalid ulimit type: {u.get('Name')}")
        out[name] = {"type": name, "soft": int(u["Soft"]), "hard": int(u["Hard"])}
    return list(out.values())


def parse_ulimit(text: str) -> dict:
    """``nofile=1024:2048`` / ``nproc=64`` -> Docker's {"Name", "Soft", "Hard"}."""
    name, sep, values = text.partition("=")
    if not sep or not values:
        raise InvalidArgument(f"invalid ulimit argument: {text}")
    if name.lower() not in _RLIMIT_NAMES:
        raise InvalidArgument(f"invalid ulimit type: {name}")
    soft, _, hard = values.partition(":")
    try:
        soft_value = int(soft)
        hard_value = int(hard) if hard else soft_value
    except ValueError:
        raise InvalidArgument(f"invalid ulimit argument: {text}") from None
    if soft_value > hard_value:
        raise InvalidArgument(f"ulimit soft limit must be less than or equal to hard limit:"
                              f" {soft_value} > {hard_value}")
    return {"Name": name.lower(), "Soft": soft_value, "Hard": hard_value}


def _unconfine(spec: dict) -> None:
    """--privileged: no masked or read-only paths, writable /sys and cgroupfs."""
    linux = spec["linux"]
    linux["maskedPaths"] = []
    linux["readonlyPaths"] = []
    for m in spec["mounts"]:
        if m["destination"] in ("/sys", "/sys/fs/cgroup"):
            m["options"] = [o for o in m["options"] if o != "ro"] + ["rw"]
