"""``exec``: start one more process in a running container, straight through the runtime.

No shim is involved: the calling process asks the runtime to join the container's
namespaces and cgroup and becomes the parent of the new process (the builtin runtime forks
it directly; for runc the caller is made a child subreaper so the process is reparented to
it when ``runc exec --detach`` returns).  The caller then waits for it like any child, so
``hull exec CTR true`` costs one database read, one config read and one fork.

The process description starts from the container's own ``process`` in its config.json, so
the new process gets the container's capabilities, rlimits, no_new_privs and (in the
runtime) seccomp; ``privileged`` widens the capabilities to the host's full set.
"""

from __future__ import annotations

import json
import os

from hull.errors import Conflict, HullError, InvalidArgument

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from typing import Any

    from hull.engine.container_model import Container
    from hull.engine.containers import ContainerService
    from hull.runtime.base import Stdio

PR_SET_CHILD_SUBREAPER = 36
EXIT_CANNOT_EXEC = 126  # Docker's exec reports a command it cannot run or find with 126


class ExecOptions:
    """What ``docker exec`` lets a user change about the new process.  (A plain class: exec
    is on the fast path, and dataclasses costs milliseconds to import.)"""

    def __init__(self, cmd: list[str], tty: bool = False, user: str = "", workdir: str = "",
                 env: list[str] | None = None, privileged: bool = False,
                 console_size: tuple[int, int] | None = None) -> None:
        self.cmd = cmd
        self.tty = tty
        self.user = user
        self.workdir = workdir
        self.env = list(env or [])
        self.privileged = privileged
        self.console_size = console_size


def _running(c: Container) -> None:
    """Docker's refusals for a container that cannot take an exec."""
    if not c.running:
        raise Conflict(f"Container {c.id} is not running", exit_code=1)
    if c.state.get("Paused"):
        raise Conflict(f"Container {c.id} is paused, unpause the container before exec",
                       exit_code=1)
    if c.state.get("Restarting"):
        raise Conflict(f"Container {c.id} is restarting, wait until the container is running",
                       exit_code=1)


def _merge_env(base: list[str], extra: list[str]) -> list[str]:
    out = list(base)
    for item in extra:
        key = item.split("=", 1)[0]
        out = [e for e in out if e.split("=", 1)[0] != key]
        out.append(item)
    return out


def exec_process(service: ContainerService, c: Container, opts: ExecOptions) -> dict[str, Any]:
    """The runtime-spec ``process`` for ``opts`` in container ``c`` (which must be running)."""
    if not opts.cmd:
        raise InvalidArgument("exec requires at least 1 argument", exit_code=1)
    paths = service.paths(c.id)
    try:
        with open(paths.config) as f:
            base = dict(json.load(f)["process"])
    except (OSError, ValueError, KeyError):
        raise Conflict(f"Container {c.id} is not running", exit_code=1) from None
    process: dict[str, Any] = {k: v for k, v in base.items() if k != "consoleSize"}
    process["args"] = list(opts.cmd)
    process["terminal"] = opts.tty
    env = [e for e in base.get("env") or [] if not e.startswith("TERM=")]
    if opts.tty:
        env.append("TERM=xterm")
    if opts.user:
        from hull.engine.container_user import resolve_user

        user = resolve_user(paths.rootfs, opts.user)
        process["user"] = {"uid": user.uid, "gid": user.gid,
                           "additionalGids": list(user.additional_gids)}
        env = [e for e in env if not e.startswith("HOME=")] + [f"HOME={user.home}"]
    process["env"] = _merge_env(env, opts.env)
    if opts.workdir:
        if not opts.workdir.startswith("/"):
            raise InvalidArgument("the working directory of exec must be an absolute path",
                                  exit_code=1)
        process["cwd"] = opts.workdir
    if opts.privileged:
        from hull.engine.container_spec import host_capabilities
        from hull.oci.runtime_spec import ALL_CAPABILITIES

        caps = host_capabilities(ALL_CAPABILITIES)
        process["capabilities"] = {k: list(caps) for k in
                                   ("bounding", "effective", "permitted")}
    if opts.tty and opts.console_size:
        process["consoleSize"] = {"height": opts.console_size[0],
                                  "width": opts.console_size[1]}
    return process


def start_exec(service: ContainerService, ref: str, opts: ExecOptions, stdio: Stdio,
               console_socket: str | None = None) -> int:
    """Start the process in container ``ref``; its pid, a child of the calling process."""
    c = service.get(ref)
    _running(c)
    process = exec_process(service, c, opts)
    runtime = service.runtime(c)
    if runtime.name != "builtin":
        from hull.runtime import syscalls as sc

        sc.prctl(PR_SET_CHILD_SUBREAPER, 1)
    try:
        return runtime.exec(c.id, process, stdio, console_socket)
    except HullError as e:
        if e.exit_code in (126, 127):
            raise HullError(f"OCI runtime exec failed: exec failed: {e}: unknown",
                            EXIT_CANNOT_EXEC) from None
        if isinstance(e, Conflict):
            raise Conflict(f"Container {c.id} is not running", exit_code=1) from None
        raise


def wait_exec(pid: int) -> int:
    """Wait for an exec'd process; its exit code (128+n when killed by signal n)."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return 255
        code = os.waitstatus_to_exitcode(status)
        return 128 - code if code < 0 else code
