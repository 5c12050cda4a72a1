"""``exec``: start one more process in a running container, straight through the runtime.

No shim is involved: the calling process asks the runtime to join the container's
namespaces and cgroup and becomes the parent of the new process (the builtin runtime forks
it directly; for runc the caller is made a child subreaper so the process is reparented to
it when ``runc exec --detach`` returns).  The caller then waits for it like any child.  A
running container named by its full id or exact name is found from two small files in its
bundle (:func:`start_exec_running`), so ``hull exec CTR true`` costs a few file reads and one
fork, and loads no database code; anything else goes through the database.

The process description starts from the container's own ``process`` in its config.json, so
the new process gets the container's capabilities, rlimits, no_new_privs and (in the
runtime) seccomp; ``privileged`` widens the capabilities to the host's full set.
"""

from __future__ import annotations

import json
import os

from hull.engine.container_paths import ContainerPaths
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


def exec_process(paths: ContainerPaths, opts: ExecOptions) -> dict[str, Any]:
    """The runtime-spec ``process`` for ``opts`` in the container at ``paths`` (which must be
    running)."""
    if not opts.cmd:
        raise InvalidArgument("exec requires at least 1 argument", exit_code=1)
    try:
        with open(paths.config) as f:
            base = dict(json.load(f)["process"])
    except (OSError, ValueError, KeyError):
        raise Conflict(f"Container {paths.id} is not running", exit_code=1) from None
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
    process = exec_process(service.paths(c.id), opts)
    runtime = service.runtime(c)
    if runtime.name != "builtin":
        from hull.runtime import syscalls as sc

        sc.prctl(PR_SET_CHILD_SUBREAPER, 1)
    try:
        return runtime.exec(c.id, process, stdio, console_socket)
    except HullError as e:
        raise _exec_error(c.id, e) from None


def _exec_error(container_id: str, error: HullError) -> HullError:
    """The runtime's refusal in Docker's words."""
    if error.exit_code in (126, 127):
        return HullError(f"OCI runtime exec failed: exec failed: {error}: unknown",
                         EXIT_CANNOT_EXEC)
    if isinstance(error, Conflict):
        return Conflict(f"Container {container_id} is not running", exit_code=1)
    return error


def start_exec_running(run_root: str, ref: str, opts: ExecOptions, stdio: Stdio,
                       console_socket: str | None = None) -> int | None:
    """:func:`start_exec` without the database, for the common case; None when it cannot tell.

    A started container's bundle holds its name and its shim's identity, so a full id or an
    exact name of a running container of the builtin runtime whose shim is alive is found
    by reading two small files.  Everything else (an id prefix, a stopped, paused or
    restarting container, another runtime, a dead shim that the database path repairs, and
    every refusal, which that path words like Docker) answers None before anything starts.
    """
    container_id = _running_id(run_root, ref)
    if container_id is None:
        return None
    paths = ContainerPaths("", run_root, container_id)
    if not os.path.isdir(os.path.join(paths.runtime_root, "builtin", container_id)):
        return None
    try:
        process = exec_process(paths, opts)
    except HullError:
        return None
    from hull.runtime.builtin import BuiltinRuntime

    try:
        return BuiltinRuntime(paths.runtime_root).exec(container_id, process, stdio,
                                                       console_socket)
    except Conflict:
        return None  # not running (any more), or paused: nothing was started
    except HullError as e:
        raise _exec_error(container_id, e) from None


def _running_id(run_root: str, ref: str) -> str | None:
    """The id of the started container whose full id or name is ``ref`` and whose shim lives."""
    from hull.engine.container_files import read_or_empty
    from hull.engine.container_model import shim_alive

    base = os.path.join(run_root, "containers")
    if len(ref) == 64 and all(ch in "0123456789abcdef" for ch in ref):
        found = ref if os.path.isdir(os.path.join(base, ref)) else None
    else:
        found = None
        try:
            entries = os.listdir(base)
        except OSError:
            return None
        for entry in entries:
            if len(entry) == 64 and read_or_empty(os.path.join(base, entry, "name")) == ref:
                found = entry
                break
    if found is None:
        return None
    pid, _, start = read_or_empty(os.path.join(base, found, "shim")).partition(" ")
    return found if pid.isdigit() and start.isdigit() and \
        shim_alive(int(pid), int(start)) else None


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
