"""The runtime seam: anything that can run an OCI bundle, with runc's command set as an API.

A runtime receives a bundle (a directory with config.json and a rootfs) and knows nothing about
images or the engine.  The caller (the per-container monitor) is expected to be a child
subreaper, so the container's init ends up as a process it can waitpid() for.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from hull.errors import InvalidArgument

_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")

# OCI state "status" values
CREATING, CREATED, RUNNING, STOPPED, PAUSED = "creating", "created", "running", "stopped", "paused"


class Stdio:
    """File descriptors for the container process's 0/1/2; None inherits the caller's.

    A plain class: this module is on the exec and run paths, where importing the
    dataclass machinery costs milliseconds.
    """

    __slots__ = ("stderr", "stdin", "stdout")

    def __init__(self, stdin: int | None = None, stdout: int | None = None,
                 stderr: int | None = None) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr

    def fds(self) -> tuple[int | None, int | None, int | None]:
        return (self.stdin, self.stdout, self.stderr)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stdio) and self.fds() == other.fds()

    def __repr__(self) -> str:
        return f"Stdio(stdin={self.stdin}, stdout={self.stdout}, stderr={self.stderr})"


def check_id(container_id: str) -> str:
    """Container ids as runc accepts them: ``[A-Za-z0-9][A-Za-z0-9_.-]{0,127}``."""
    cid = container_id or ""
    if not (0 < len(cid) <= 128 and cid[0] not in "_.-" and set(cid) <= _ID_CHARS):
        raise InvalidArgument(f"invalid container id {container_id!r}")
    return container_id


class Runtime(ABC):
    """runc's lifecycle as a Python API: create, start, state, kill, pause/resume, exec, delete.

    Errors are HullError subclasses: NotFound for an unknown id, Conflict for a call that does
    not fit the container's state, and exit_code 127/126 when the command cannot be found or
    run (message as Docker's: ``exec: "foo": executable file not found in $PATH``).
    """

    name: str

    @abstractmethod
    def create(self, container_id: str, bundle: str, stdio: Stdio,
               console_socket: str | None = None) -> int:
        """Set up the container and park its init before exec; return init's host pid.

        With ``process.terminal``, the pty master is sent over the unix socket
        ``console_socket`` (SCM_RIGHTS) and the pty becomes the process's stdio.
        """

    @abstractmethod
    def start(self, container_id: str) -> None:
        """Let a created container's init exec the user process."""

    @abstractmethod
    def state(self, container_id: str) -> dict:
        """OCI state: ociVersion, id, status, pid, bundle (+ annotations)."""

    @abstractmethod
    def kill(self, container_id: str, signal: int, all: bool = False) -> None:
        """Signal init, or with ``all`` every process in the container's cgroup."""

    @abstractmethod
    def pause(self, container_id: str) -> None: ...

    @abstractmethod
    def resume(self, container_id: str) -> None: ...

    @abstractmethod
    def exec(self, container_id: str, process: dict, stdio: Stdio,
             console_socket: str | None = None) -> int:
        """Start a new process (runtime-spec ``process`` object) in the container; its pid."""

    @abstractmethod
    def delete(self, container_id: str, force: bool = False) -> None:
        """Forget the container: remove its cgroups and state (force: kill it first)."""

    @abstractmethod
    def oom_killed(self, container_id: str) -> bool:
        """Whether the kernel OOM-killed a process in the container's cgroup."""

    @abstractmethod
    def stats(self, container_id: str) -> dict:
        """{"cpu": {"usage_ns"}, "memory": {"usage", "max_usage", "limit"},
        "pids": {"current", "limit"}} from the cgroup files; None where unknown."""


def get_runtime(name: str = "builtin", state_root: str = "/run/hull/runtime") -> Runtime:
    """The runtime called ``name`` ("builtin", "runc", "crun"), keeping state below state_root."""
    if name in ("builtin", "", None):
        from hull.runtime.builtin import BuiltinRuntime

        return BuiltinRuntime(state_root)
    if name in ("runc", "crun"):
        from hull.runtime.runc import CliRuntime

        return CliRuntime(name, state_root)
    raise InvalidArgument(f"unknown runtime {name!r} (expected builtin, runc or crun)")
