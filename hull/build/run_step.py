"""RUN: execute a command in a step's root filesystem through the OCI runtime.

The step's mounted snapshot becomes the rootfs of a bundle whose config.json starts from
:func:`hull.oci.runtime_spec.default_spec` (Docker's defaults: capabilities, seccomp,
masked paths), so RUN steps are confined like containers.  The builder forks the
runtime's init itself and reaps it, streaming the command's output as it comes.

Mount points the runtime needs but the image lacks (``/proc``, ``/sys``, a cache
target, ``/run/secrets/...``) are made before the run and removed after it, so they
never show up in the step's layer.  Networking: ``none`` is a new, empty network
namespace; ``host`` and ``default`` share the host's (no bridge networks exist yet).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Callable

from hull.build import gopath
from hull.build.locks import FORK_LOCK
from hull.errors import HullError
from hull.pids import pid_alive
from hull.record import field, record

TAIL_BYTES = 4096
HOSTNAME = "buildkitsandbox"
_RUNTIME_MOUNTS = ("/proc", "/dev", "/sys")


def new_container_id() -> str:
    """64 hex digits like a container id; the first 8 are this process's pid, so a later
    build can tell the containers of a build that was killed (:func:`remove_stale`)."""
    return f"{os.getpid() & 0xFFFFFFFF:08x}{os.urandom(28).hex()}"


def remove_stale(runtime_root: str) -> None:
    """Kill and forget RUN containers whose build process is gone (killed with SIGKILL)."""
    from hull.runtime import get_runtime

    directory = os.path.join(runtime_root, "builtin")
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return
    runtime = None
    for name in names:
        if len(name) != 64 or pid_alive(int(name[:8], 16)):
            continue
        runtime = runtime or get_runtime("builtin", runtime_root)
        with contextlib.suppress(HullError, OSError, ValueError):
            runtime.delete(name, force=True)


def kill_own(runtime_root: str) -> None:
    """SIGKILL the RUN commands of this process's build (it is being cancelled)."""
    from hull.runtime import get_runtime

    prefix = f"{os.getpid() & 0xFFFFFFFF:08x}"
    directory = os.path.join(runtime_root, "builtin")
    try:
        names = [n for n in os.listdir(directory) if n.startswith(prefix) and len(n) == 64]
    except FileNotFoundError:
        return
    runtime = get_runtime("builtin", runtime_root)
    for name in names:
        with contextlib.suppress(HullError, OSError):
            runtime.kill(name, 9)


@record
class RunRequest:
    """What one RUN executes and how."""

    argv: list[str]
    env: list[str]
    cwd: str = "/"
    user: str = ""
    network: str = "default"
    mounts: list[dict] = field(default_factory=list)  # extra runtime-spec mounts
    files: dict[str, bytes] = field(default_factory=dict)  # /dev/pipes/NAME scripts
    insecure: bool = False


@record
class RunOutcome:
    exit_code: int
    tail: bytes


class MountStubs:
    """Mount points created for one run inside the rootfs, removed again afterwards."""

    def __init__(self, rootfs: str) -> None:
        self.rootfs = rootfs
        self.created: list[tuple[str, bool]] = []

    def ensure(self, path: str, is_dir: bool) -> None:
        from hull.runtime.rootfs import secure_join

        current = "/"
        parts = [p for p in gopath.clean(path).split("/") if p]
        for i, part in enumerate(parts):
            current = gopath.join(current, part)
            host = secure_join(self.rootfs, current)
            if os.path.lexists(host):
                continue
            last = i == len(parts) - 1
            if last and not is_dir:
                os.close(os.open(host, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
                self.created.append((host, False))
            else:
                os.mkdir(host, 0o755)
                self.created.append((host, True))

    def remove(self) -> None:
        for host, is_dir in reversed(self.created):
            with contextlib.suppress(OSError):
                if is_dir:
                    os.rmdir(host)
                elif os.path.getsize(host) == 0:
                    os.unlink(host)
        self.created = []


def _namespaces(network: str) -> dict[str, str | None]:
    spaces: dict[str, str | None] = {"pid": None, "ipc": None, "uts": None, "mount": None}
    if network == "none":
        spaces["network"] = None
    return spaces


def _host_files(rootfs: str, network: str) -> list[dict]:
    """The host's resolver files for networked steps, where the image has them."""
    from hull.runtime.rootfs import secure_join

    if network == "none":
        return []
    out = []
    for path in ("/etc/resolv.conf", "/etc/hosts"):
        inside = secure_join(rootfs, path)
        if os.path.isfile(path) and os.path.isfile(inside) and not os.path.islink(inside):
            out.append({"destination": path, "type": "bind", "source": path,
                        "options": ["rbind", "ro"]})
    return out


def run_command(rootfs: str, request: RunRequest, work_dir: str, runtime_root: str,
                container_id: str, output: Callable[[bytes], None]) -> RunOutcome:
    """Run ``request`` with ``rootfs`` as its root; return its exit code and last output."""
    from hull.engine.container_user import resolve_user
    from hull.oci.runtime_spec import (
        ALL_CAPABILITIES,
        DEFAULT_CAPABILITIES,
        DEFAULT_PATH,
        default_spec,
    )
    from hull.runtime import Stdio, get_runtime
    from hull.runtime.rootfs import secure_join

    user = resolve_user(rootfs, request.user)
    env = list(request.env)
    if not any(e.startswith("PATH=") for e in env):
        env.insert(0, f"PATH={DEFAULT_PATH}")
    if not any(e.startswith("HOME=") for e in env):
        env.append(f"HOME={user.home}")
    cwd = secure_join(rootfs, request.cwd)
    if not os.path.isdir(cwd):
        os.makedirs(cwd, 0o755, exist_ok=True)
    bundle = os.path.join(work_dir, container_id)
    os.makedirs(bundle, exist_ok=True)
    stubs = MountStubs(rootfs)
    mounts = _host_files(rootfs, request.network) + list(request.mounts)
    for name, data in request.files.items():
        script = os.path.join(bundle, f"pipe-{len(mounts)}")
        with open(script, "wb") as f:
            f.write(data)
        os.chmod(script, 0o755)
        mounts.append({"destination": f"/dev/pipes/{name}", "type": "bind",
                       "source": script, "options": ["rbind", "ro"]})
    runtime = get_runtime("builtin", runtime_root)
    pid = 0
    created = False
    read_fd = -1
    tail = b""
    try:
        for path in _RUNTIME_MOUNTS:
            stubs.ensure(path, True)
        for m in mounts:
            destination = m["destination"]
            if destination.startswith("/dev/"):
                continue  # /dev is a tmpfs of its own
            source_is_dir = m.get("type") != "bind" or os.path.isdir(m["source"])
            stubs.ensure(destination, source_is_dir)
        spec = default_spec(
            request.argv, rootfs=rootfs, env=env, cwd=request.cwd or "/", hostname=HOSTNAME,
            uid=user.uid, gid=user.gid, additional_gids=user.additional_gids,
            namespaces=_namespaces(request.network), cgroups_path=f"/hull/{container_id}",
            extra_mounts=mounts,
            capabilities=ALL_CAPABILITIES if request.insecure else DEFAULT_CAPABILITIES,
            seccomp=not request.insecure)
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(spec, f)
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        try:
            with FORK_LOCK:
                pid = runtime.create(container_id, bundle, Stdio(null, write_fd, write_fd))
            created = True
            os.close(write_fd)
            write_fd = -1
            runtime.start(container_id)
        except HullError as e:
            if e.exit_code in (126, 127):
                message = f"{e}\n".encode()
                output(message)
                return RunOutcome(e.exit_code, message)
            raise
        finally:
            if write_fd >= 0:
                os.close(write_fd)
            os.close(null)
        while chunk := os.read(read_fd, 65536):
            output(chunk)
            tail = (tail + chunk)[-TAIL_BYTES:]
        _, status = os.waitpid(pid, 0)
        pid = 0
        code = os.waitstatus_to_exitcode(status)
        return RunOutcome(128 - code if code < 0 else code, tail)
    finally:
        if read_fd >= 0:
            os.close(read_fd)
        if created:
            with contextlib.suppress(HullError):
                runtime.delete(container_id, force=True)
        if pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        stubs.remove()
        shutil.rmtree(bundle, ignore_errors=True)
