"""hull's own runtime: runs an OCI bundle with fork + ctypes, no helper binary, no new
interpreter.

Lifecycle, as runc's:
- ``create`` makes the cgroup, then forks init straight into a new (or given) pid namespace
  (unshare(CLONE_NEWPID) around the fork, so init is the caller's child).  Init joins the
  cgroup, enters its namespaces, builds the rootfs, pivot_roots, resolves the command, compiles
  seccomp, reports "ready" on a close-on-exec pipe and parks: it opens <state>/exec.fifo for
  writing, which blocks until someone opens it for reading.
- ``start`` opens the fifo for reading: init writes one byte, finishes confinement (user,
  capabilities, no_new_privs, seccomp) and execs.  The fifo's write end is close-on-exec, so
  ``start`` reads EOF once the exec happened; if exec fails, init writes the error there first.

Errors from the child come back as one JSON line ({"error", "exit_code"}); exit_code 127/126
(command not found / cannot be run) are raised as HullError with that exit_code and Docker's
message, everything else as EngineError.
"""

from __future__ import annotations

import json
import os
import select
import time

from hull.errors import Conflict, EngineError, HullError, InvalidArgument
from hull.oci.runtime_spec import OCI_VERSION
from hull.runtime import capabilities, console, process, rootfs
from hull.runtime import syscalls as sc
from hull.runtime.base import CREATED, PAUSED, RUNNING, STOPPED, Runtime, Stdio, check_id
from hull.runtime.cgroups import Cgroup, cgroup_from_dirs, open_cgroup, warm_up_migration
from hull.runtime.state import EXEC_FIFO, ContainerState, alive, proc_stat

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from hull.runtime.seccomp import Program

SIGKILL = 9
_JOIN_ORDER = ("cgroup", "ipc", "uts", "network", "mount")  # mount last: it moves our root


def _load_spec(bundle: str) -> dict:
    try:
        with open(os.path.join(bundle, "config.json")) as f:
            spec = json.load(f)
    except FileNotFoundError:
        raise InvalidArgument(f"bundle {bundle} has no config.json") from None
    except (OSError, ValueError) as e:
        raise InvalidArgument(f"cannot read {bundle}/config.json: {e}") from None
    if not isinstance(spec, dict) or not (spec.get("process") or {}).get("args"):
        raise InvalidArgument(f"{bundle}/config.json: process.args is required")
    return spec


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        text = exc.strerror or str(exc)
        if exc.filename and str(exc.filename) not in text:
            text += f": {exc.filename}"
        return text
    return str(exc) or type(exc).__name__


def _report(fd: int, exc: BaseException) -> int:
    """Send an error to the waiting parent; return the exit code the child should use."""
    code = exc.exit_code if isinstance(exc, HullError) else 1
    msg = json.dumps({"error": _describe(exc), "exit_code": code}).encode() + b"\n"
    try:
        os.write(fd, msg)
    except OSError:
        pass
    return code if code in (process.EXIT_NOT_FOUND, process.EXIT_CANNOT_INVOKE) else 1


def _raise_from(msg: dict, what: str) -> None:
    code = int(msg.get("exit_code") or 1)
    if code in (process.EXIT_NOT_FOUND, process.EXIT_CANNOT_INVOKE):
        raise process.ExecFailure(msg["error"], code)
    raise EngineError(f"{what}: {msg.get('error')}")


def _read_line(fd: int) -> bytes:
    """Read up to the first newline or EOF."""
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
    return buf


def _fork_in_pid_namespace(new: bool, path: str | None) -> int:
    """fork(), with the child landing in a new (or the given) pid namespace.

    unshare/setns(CLONE_NEWPID) only changes where our *children* go, so we switch it just
    around the fork and switch back: the child becomes pid 1 there and stays our child.
    """
    if not new and path is None:
        return os.fork()
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    pid = -1
    try:
        if path is not None:
            sc.setns_path(path, sc.CLONE_NEWPID)
        else:
            sc.unshare(sc.CLONE_NEWPID)
        pid = os.fork()
    finally:
        if pid != 0:
            sc.setns(own, sc.CLONE_NEWPID)
            os.close(own)
    return pid


def _child(fn, report_fd: int, *args) -> None:  # type: ignore[no-untyped-def]
    """Run ``fn`` in a forked child; it must exec.  Never returns into the caller's code."""
    code = 1
    try:
        fn(*args)
    except BaseException as exc:
        code = _report(report_fd, exc)
    finally:
        os._exit(code)


class BuiltinRuntime(Runtime):
    name = "builtin"

    def __init__(self, state_root: str) -> None:
        self.root = os.path.join(state_root, "builtin")
        self.seccomp_cache = os.path.join(state_root, "seccomp")

    # -- bookkeeping --------------------------------------------------------------------

    def _dir(self, container_id: str) -> str:
        return os.path.join(self.root, check_id(container_id))

    def _load(self, container_id: str) -> tuple[str, ContainerState]:
        d = self._dir(container_id)
        return d, ContainerState.load(d, container_id)

    @staticmethod
    def _cgroup(st: ContainerState) -> Cgroup:
        return cgroup_from_dirs(st.cgroups_path, st.cgroup_dirs)

    def _seccomp(self, profile: dict | None) -> Program | None:
        """Compiled (and cached) in the caller: the child only has to load it."""
        if not profile:
            return None
        from hull.runtime.seccomp import program_for

        return program_for(profile, self.seccomp_cache)

    def _status(self, d: str, st: ContainerState) -> str:
        if not alive(st.pid, st.pid_start):
            return STOPPED
        if os.path.exists(os.path.join(d, EXEC_FIFO)):
            return CREATED
        if self._cgroup(st).is_frozen():
            return PAUSED
        return RUNNING

    # -- create / start -----------------------------------------------------------------

    def create(self, container_id: str, bundle: str, stdio: Stdio,
               console_socket: str | None = None) -> int:
        warm_up_migration()
        bundle = os.path.abspath(bundle)
        spec = _load_spec(bundle)
        d = self._dir(container_id)
        proc = spec["process"]
        if proc.get("terminal") and not console_socket:
            raise InvalidArgument("process.terminal needs a console socket")
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            raise Conflict(f"container {container_id} already exists") from None
        cgroup: Cgroup | None = None
        try:
            os.mkfifo(os.path.join(d, EXEC_FIFO), 0o600)
            linux = spec.get("linux") or {}
            cgroup = open_cgroup(linux.get("cgroupsPath") or container_id)
            cgroup.create()
            resources = dict(linux.get("resources") or {})
            resources["devices"] = list(resources.get("devices") or []) + \
                rootfs.DEFAULT_DEVICE_RULES
            cgroup.apply(resources)
            pid = self._spawn_init(spec, bundle, d, cgroup, stdio, console_socket)
            st = proc_stat(pid)
            ContainerState(
                id=container_id, pid=pid, pid_start=st[1] if st else 0, bundle=bundle,
                cgroups_path=cgroup.path, cgroup_dirs=cgroup.to_dirs(), created=time.time(),
                annotations=spec.get("annotations") or {}, seccomp=linux.get("seccomp"),
                capabilities=proc.get("capabilities"),
            ).save(d)
            return pid
        except BaseException:
            if cgroup is not None:
                try:
                    cgroup.destroy(timeout=2)
                except HullError:
                    pass
            _remove_dir(d)
            raise

    def _spawn_init(self, spec: dict, bundle: str, state_dir: str, cgroup: Cgroup,
                    stdio: Stdio, console_socket: str | None) -> int:
        namespaces = {n["type"]: n.get("path") for n in (spec.get("linux") or {})
                      .get("namespaces") or ()}
        if "user" in namespaces:
            raise EngineError("user namespaces are not supported by the builtin runtime")
        last_cap = capabilities.last_cap()
        program = self._seccomp((spec.get("linux") or {}).get("seccomp"))
        r, w = os.pipe2(os.O_CLOEXEC)
        try:
            pid = _fork_in_pid_namespace("pid" in namespaces and namespaces["pid"] is None,
                                         namespaces.get("pid"))
        except BaseException:
            os.close(r)
            os.close(w)
            raise
        if pid == 0:
            os.close(r)
            _child(_init, w, spec, bundle, state_dir, cgroup, namespaces, stdio,
                   console_socket, last_cap, program, w)
        os.close(w)
        try:
            line = _read_line(r)
        finally:
            os.close(r)
        msg = json.loads(line) if line.strip() else {}
        if msg.get("ok"):
            return pid
        os.waitpid(pid, 0)
        if not msg:
            raise EngineError("container init exited during setup")
        _raise_from(msg, "container init")
        raise AssertionError("unreachable")

    def start(self, container_id: str) -> None:
        d, st = self._load(container_id)
        fifo = os.path.join(d, EXEC_FIFO)
        try:
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise Conflict(f"container {container_id} is not in created state "
                           f"({self._status(d, st)})") from None
        try:
            data = _drain(fd, st)
        finally:
            os.close(fd)
        try:
            os.unlink(fifo)
        except FileNotFoundError:
            pass
        if not data.startswith(b"0"):
            raise EngineError(f"container {container_id}: init exited before it was started")
        if data[1:].strip():
            _raise_from(json.loads(data[1:]), "container start")

    # -- queries ------------------------------------------------------------------------

    def state(self, container_id: str) -> dict:
        d, st = self._load(container_id)
        status = self._status(d, st)
        return {
            "ociVersion": OCI_VERSION, "id": st.id, "status": status,
            "pid": 0 if status == STOPPED else st.pid, "bundle": st.bundle,
            "annotations": st.annotations,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.created)),
        }

    def oom_killed(self, container_id: str) -> bool:
        _, st = self._load(container_id)
        return self._cgroup(st).oom_kills() > 0

    def stats(self, container_id: str) -> dict:
        _, st = self._load(container_id)
        return self._cgroup(st).stats()

    # -- signals and freezing -----------------------------------------------------------

    def kill(self, container_id: str, signal: int, all: bool = False) -> None:
        d, st = self._load(container_id)
        if all:
            _kill_cgroup(self._cgroup(st), signal)
            return
        if self._status(d, st) == STOPPED:
            raise Conflict(f"container {container_id} is not running")
        try:
            os.kill(st.pid, signal)
        except ProcessLookupError:
            raise Conflict(f"container {container_id} is not running") from None

    def pause(self, container_id: str) -> None:
        d, st = self._load(container_id)
        status = self._status(d, st)
        if status not in (RUNNING, CREATED):
            raise Conflict(f"container {container_id} is not running ({status})")
        self._cgroup(st).set_frozen(True)

    def resume(self, container_id: str) -> None:
        d, st = self._load(container_id)
        if self._status(d, st) != PAUSED:
            raise Conflict(f"container {container_id} is not paused")
        self._cgroup(st).set_frozen(False)

    # -- exec ---------------------------------------------------------------------------

    def exec(self, container_id: str, process_spec: dict, stdio: Stdio,
             console_socket: str | None = None) -> int:
        d, st = self._load(container_id)
        status = self._status(d, st)
        if status != RUNNING:
            raise Conflict(f"cannot exec in container {container_id}: it is {status}")
        if not process_spec.get("args"):
            raise InvalidArgument("exec: process.args is required")
        if process_spec.get("terminal") and not console_socket:
            raise InvalidArgument("process.terminal needs a console socket")
        join = {}
        for ns_type in (*_JOIN_ORDER, "pid"):
            proc_name = sc.NAMESPACE_PROC_NAMES[ns_type]
            theirs = f"/proc/{st.pid}/ns/{proc_name}"
            try:
                if os.stat(theirs).st_ino != os.stat(f"/proc/self/ns/{proc_name}").st_ino:
                    join[ns_type] = theirs
            except FileNotFoundError:
                raise Conflict(f"container {container_id} is not running") from None
        cgroup = self._cgroup(st)
        last_cap = capabilities.last_cap()
        program = self._seccomp(st.seccomp)
        r, w = os.pipe2(os.O_CLOEXEC)
        try:
            pid = _fork_in_pid_namespace(False, join.get("pid"))
        except BaseException:
            os.close(r)
            os.close(w)
            raise
        if pid == 0:
            os.close(r)
            _child(_exec_child, w, process_spec, st, cgroup, join, stdio, console_socket,
                   last_cap, program, w)
        os.close(w)
        try:
            data = b""
            while chunk := os.read(r, 65536):
                data += chunk
        finally:
            os.close(r)
        if data.strip():
            os.waitpid(pid, 0)
            _raise_from(json.loads(data), "exec")
        return pid

    # -- delete -------------------------------------------------------------------------

    def delete(self, container_id: str, force: bool = False) -> None:
        d, st = self._load(container_id)
        status = self._status(d, st)
        if status in (RUNNING, PAUSED) and not force:
            raise Conflict(f"cannot delete container {container_id} that is {status}; "
                           "stop it or use force")
        cgroup = self._cgroup(st)
        if status != STOPPED:
            try:
                os.kill(st.pid, SIGKILL)
            except ProcessLookupError:
                pass
        if cgroup.exists():
            _kill_cgroup(cgroup, SIGKILL)
            cgroup.destroy()
        _remove_dir(d)


def _drain(fd: int, st: ContainerState) -> bytes:
    """Read the exec fifo until init exec'd (EOF) or died, without hanging on a dead init."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    data = b""
    while True:
        if not poller.poll(100):
            if not alive(st.pid, st.pid_start):
                return data
            continue
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            continue
        if not chunk:
            return data
        data += chunk


def _kill_cgroup(cgroup: Cgroup, signal: int) -> None:
    """Signal every process in the cgroup; for SIGKILL freeze first so none can fork away."""
    frozen = signal == SIGKILL and _try_freeze(cgroup)
    try:
        deadline = time.monotonic() + 5
        while True:
            pids = cgroup.procs()
            for pid in pids:
                try:
                    os.kill(pid, signal)
                except ProcessLookupError:
                    pass
            if signal != SIGKILL or not pids or time.monotonic() > deadline:
                break
            if frozen:
                cgroup.set_frozen(False)
                frozen = False
            time.sleep(0.002)
    finally:
        if frozen:
            cgroup.set_frozen(False)


def _try_freeze(cgroup: Cgroup) -> bool:
    try:
        cgroup.set_frozen(True)
        return True
    except (HullError, OSError):
        return False


def _remove_dir(d: str) -> None:
    for name in (EXEC_FIFO, "state.json", "state.json.tmp"):
        try:
            os.unlink(os.path.join(d, name))
        except FileNotFoundError:
            pass
    try:
        os.rmdir(d)
    except FileNotFoundError:
        pass


# -- code that runs in the forked children ------------------------------------------------


def _init(spec: dict, bundle: str, state_dir: str, cgroup: Cgroup,
          namespaces: dict[str, str | None], stdio: Stdio, console_socket: str | None,
          last_cap: int, program: Program | None, ready_fd: int) -> None:
    """Container init: set everything up, report ready, wait for start, exec."""
    os.setsid()
    new_flags = 0
    for ns_type in _JOIN_ORDER:
        if ns_type not in namespaces:
            continue
        if namespaces[ns_type] is None:
            new_flags |= sc.NAMESPACE_FLAGS[ns_type]
        else:
            sc.setns_path(namespaces[ns_type], sc.NAMESPACE_FLAGS[ns_type])
    # The cgroup namespace is entered after joining the cgroup (it roots at the current cgroup);
    # joining waits as late as possible so the kernel's migration cost overlaps with setup.
    if new_flags & ~sc.CLONE_NEWCGROUP:
        sc.unshare(new_flags & ~sc.CLONE_NEWCGROUP)
    proc = spec["process"]
    env = list(proc.get("env") or ())
    sock = console.connect(console_socket) if proc.get("terminal") and console_socket else None
    state_fd = os.open(state_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    slave = None
    if "mount" in namespaces and namespaces["mount"] is None:
        root = rootfs.prepare(spec, bundle, cgroup)
        if sock is not None:
            master, slave, name = console.open_pty(rootfs.secure_join(root, "/dev/pts"),
                                                   proc.get("consoleSize"))
            dev_console = rootfs.secure_join(root, "/dev/console")
            if not os.path.exists(dev_console):
                os.close(os.open(dev_console, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
            sc.mount(rootfs.secure_join(root, name), dev_console, None, sc.MS_BIND)
            console.send_master(sock, master, name)
        _enter_cgroup(cgroup, new_flags)
        rootfs.pivot(root)
        try:
            os.makedirs(proc.get("cwd") or "/", exist_ok=True)
        except OSError:
            pass
        rootfs.finish(spec)
    else:
        _enter_cgroup(cgroup, new_flags)
        if sock is not None:
            master, slave, name = console.open_pty("/dev/pts", proc.get("consoleSize"))
            console.send_master(sock, master, name)
    if spec.get("hostname") and "uts" in namespaces:
        sc.sethostname(spec["hostname"])
    if spec.get("domainname") and "uts" in namespaces:
        sc.setdomainname(spec["domainname"])
    _common_setup(proc, stdio, slave)
    path = process.lookup(proc["args"][0], env)
    finalizer = process.Finalizer(proc, program, last_cap)
    os.write(ready_fd, b'{"ok": true}\n')
    os.close(ready_fd)
    fifo = os.open(EXEC_FIFO, os.O_WRONLY | os.O_CLOEXEC, dir_fd=state_fd)
    os.close(state_fd)
    os.write(fifo, b"0")
    _child(_exec_now, fifo, finalizer, path, proc["args"], env, fifo)


def _enter_cgroup(cgroup: Cgroup, new_flags: int) -> None:
    cgroup.join(0)
    if new_flags & sc.CLONE_NEWCGROUP:
        sc.unshare(sc.CLONE_NEWCGROUP)


def _common_setup(proc: dict, stdio: Stdio, slave: int | None) -> None:
    if proc.get("oomScoreAdj") is not None:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(proc["oomScoreAdj"]))
    if slave is not None:
        console.become_controlling(slave)
    else:
        process.setup_stdio(stdio.fds())
    process.apply_rlimits(proc.get("rlimits"))
    cwd = proc.get("cwd") or "/"
    try:
        os.chdir(cwd)
    except OSError as e:
        raise EngineError(f"cannot enter working directory {cwd}: {e.strerror}") from None


def _exec_now(finalizer: process.Finalizer, path: str, args: list[str], env: list[str],
              keep_fd: int) -> None:
    process.reset_signals()  # before seccomp, which could forbid it
    finalizer.apply()
    process.close_extra_fds({keep_fd})
    process.execve(path, args, env)


def _exec_child(proc: dict, st: ContainerState, cgroup: Cgroup, join: dict[str, str],
                stdio: Stdio, console_socket: str | None, last_cap: int,
                program: Program | None, report_fd: int) -> None:
    """A process exec'd into a running container: join its cgroup and namespaces, then exec."""
    os.setsid()
    if cgroup.exists():
        cgroup.join(0)
    sock = console.connect(console_socket) if proc.get("terminal") and console_socket else None
    fds = [(os.open(path, os.O_RDONLY | os.O_CLOEXEC), ns_type) for ns_type, path in
           join.items() if ns_type != "pid"]
    for fd, ns_type in fds:
        sc.setns(fd, sc.NAMESPACE_FLAGS[ns_type])
        os.close(fd)
    slave = None
    if sock is not None:
        master, slave, name = console.open_pty("/dev/pts", proc.get("consoleSize"))
        console.send_master(sock, master, name)
    env = list(proc.get("env") or ())
    _common_setup(proc, stdio, slave)
    path = process.lookup(proc["args"][0], env)
    if not proc.get("capabilities") and st.capabilities:
        proc = {**proc, "capabilities": st.capabilities}
    finalizer = process.Finalizer(proc, program, last_cap)
    _exec_now(finalizer, path, proc["args"], env, report_fd)
