"""The last steps of a container process: stdio, rlimits, user, capabilities, seccomp, exec.

Shared by a container's init and by processes exec'd into it.  Failures to find or run the
command raise :class:`ExecFailure`, which carries Docker's exit codes (127 not found,
126 cannot invoke) and Docker's message shape so the caller can report them unchanged.
"""

from __future__ import annotations

import ctypes
import os
import resource
import stat

from hull.errors import EngineError, HullError
from hull.runtime import capabilities, syscalls

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from hull.runtime.seccomp import Program

EXIT_NOT_FOUND = 127
EXIT_CANNOT_INVOKE = 126


class ExecFailure(HullError):
    """The command could not be found or started."""


def env_value(env: list[str], key: str) -> str | None:
    prefix = key + "="
    for item in reversed(env):
        if item.startswith(prefix):
            return item[len(prefix):]
    return None


def _is_executable(path: str) -> str | None:
    """None if ``path`` can be exec'd by mode bits; else the reason (as Go's LookPath)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return f"stat {path}: no such file or directory"
    except NotADirectoryError:
        return f"stat {path}: not a directory"
    if stat.S_ISDIR(st.st_mode) or not st.st_mode & 0o111:
        return "permission denied"
    return None


def lookup(arg0: str, env: list[str]) -> str:
    """Find ``arg0`` the way the container's PATH says; raise ExecFailure like runc would."""
    if not arg0:
        raise ExecFailure('exec: "": executable file not found in $PATH', EXIT_NOT_FOUND)
    if "/" in arg0:
        reason = _is_executable(arg0)
        if reason is None:
            return arg0
        code = EXIT_CANNOT_INVOKE if reason == "permission denied" else EXIT_NOT_FOUND
        raise ExecFailure(f'exec: "{arg0}": {reason}', code)
    for directory in (env_value(env, "PATH") or "").split(":"):
        candidate = os.path.join(directory or ".", arg0)
        if _is_executable(candidate) is None:
            return candidate
    raise ExecFailure(f'exec: "{arg0}": executable file not found in $PATH', EXIT_NOT_FOUND)


_RLIMITS = {name: getattr(resource, name, None)
            for name in ("RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA",
                         "RLIMIT_FSIZE", "RLIMIT_LOCKS", "RLIMIT_MEMLOCK", "RLIMIT_MSGQUEUE",
                         "RLIMIT_NICE", "RLIMIT_NOFILE", "RLIMIT_NPROC", "RLIMIT_RSS",
                         "RLIMIT_RTPRIO", "RLIMIT_RTTIME", "RLIMIT_SIGPENDING",
                         "RLIMIT_STACK")}


def apply_rlimits(rlimits: list[dict] | None) -> None:
    for r in rlimits or ():
        which = _RLIMITS.get(r.get("type", ""))
        if which is None:
            raise EngineError(f"unknown rlimit {r.get('type')!r}")
        try:
            resource.setrlimit(which, (r["soft"], r["hard"]))
        except (OSError, ValueError) as e:
            raise EngineError(f"setrlimit {r['type']} {r['soft']}:{r['hard']}: {e}") from None


def setup_stdio(fds: tuple[int | None, int | None, int | None]) -> None:
    """Put the given fds on 0/1/2; None keeps whatever the caller already has there."""
    dups = [None if fd is None else os.dup(fd) for fd in fds]
    for target, fd in enumerate(dups):
        if fd is not None:
            os.dup2(fd, target, inheritable=True)
            os.close(fd)


def close_extra_fds(keep: set[int]) -> None:
    """Mark every fd above 2 close-on-exec so nothing of ours leaks into the container."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.set_inheritable(fd, False)
            except OSError:
                pass


class Finalizer:
    """Identity and confinement, prepared early and applied just before execve."""

    def __init__(self, process: dict, seccomp: Program | None, last_cap: int) -> None:
        user = process.get("user") or {}
        self.uid = int(user.get("uid", 0))
        self.gid = int(user.get("gid", 0))
        self.groups = [int(g) for g in user.get("additionalGids") or ()]
        self.umask = user.get("umask")
        self.no_new_privs = bool(process.get("noNewPrivileges"))
        self.caps = capabilities.CapabilityPlan(process.get("capabilities"), last_cap)
        self.seccomp = seccomp

    def apply(self) -> None:
        if self.seccomp is not None and not self.no_new_privs:
            self.seccomp.load()  # without no_new_privs this needs CAP_SYS_ADMIN: load it now
        self.caps.drop_bounding()
        capabilities.switch_user(self.uid, self.gid, self.groups)
        self.caps.apply()
        if self.umask is not None:
            os.umask(int(self.umask))
        if self.no_new_privs:
            syscalls.prctl(syscalls.PR_SET_NO_NEW_PRIVS, 1)
            if self.seccomp is not None:
                self.seccomp.load()


_SIG_SETMASK = 2
_NSIG = 65


def reset_signals() -> None:
    """Give the command default signal handling, as a fresh process would have.

    Ignored signals survive execve, and Python ignores SIGPIPE and SIGXFSZ; a caller may also
    block signals it reads through signalfd.  Neither must reach the container.
    """
    lib = syscalls.libc()
    empty = ctypes.create_string_buffer(128)
    lib.sigprocmask(_SIG_SETMASK, empty, None)
    for signum in range(1, _NSIG):
        if signum in (9, 19):  # SIGKILL, SIGSTOP cannot be changed
            continue
        lib.signal(signum, ctypes.c_void_p(0))  # SIG_DFL; fails harmlessly on RT internals


def execve(path: str, args: list[str], env: list[str]) -> None:
    """execve, with failures turned into ExecFailure (Docker: 127 missing, 126 otherwise)."""
    environ = dict(item.split("=", 1) for item in env if "=" in item)
    try:
        os.execve(path, args, environ)
    except FileNotFoundError:
        raise ExecFailure(f'exec: "{args[0]}": no such file or directory', EXIT_NOT_FOUND)
    except OSError as e:
        raise ExecFailure(f'exec: "{args[0]}": {(e.strerror or str(e)).lower()}',
                          EXIT_CANNOT_INVOKE)
