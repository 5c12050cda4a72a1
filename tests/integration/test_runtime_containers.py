"""The builtin runtime and runc (and crun where it works) run the same bundles and must give
the same observable results: exit codes, identity, isolation, confinement, limits, lifecycle.

Every test builds a busybox bundle in its own tmp dir and cleans up containers, cgroups and
processes even when it fails.  runc's init is not our child (runc exits after create), so the
runc scenarios make this process a child subreaper for their duration and reap the pids they
know about.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hull.errors import Conflict, HullError, NotFound
from hull.oci.runtime_spec import ALL_CAPABILITIES, DEFAULT_CAPABILITIES, default_spec
from hull.runtime import Runtime, Stdio, get_runtime

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="runtimes need root")

PR_SET_CHILD_SUBREAPER = 36
CGROUP_V1 = "/sys/fs/cgroup"
CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "freezer", "devices", "blkio", "cpuset")


def _cap_mask(names: list[str] | tuple[str, ...]) -> str:
    return f"{sum(1 << ALL_CAPABILITIES.index(n) for n in names):016x}"


def _cgroup_parents() -> list[str]:
    """Every place a runtime may create the /hull parent cgroup."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] in ("cgroup", "cgroup2"):
                out.append(os.path.join(left.split()[4], "hull"))
    return out


@pytest.fixture(scope="module", autouse=True)
def _remove_hull_parent_cgroups() -> Iterator[None]:
    """Runtimes leave the shared /hull parent cgroup in place; remove the ones we caused."""
    before = {p for p in _cgroup_parents() if os.path.isdir(p)}
    yield
    for parent in _cgroup_parents():
        if parent not in before and os.path.isdir(parent):
            try:
                os.rmdir(parent)
            except OSError:
                pass


@pytest.fixture(scope="module")
def rootfs_tar(busybox_tar: Path) -> Path:
    return busybox_tar


_CRUN_PROBLEM: list[str] = []


def _crun_usable(tmp: Path, rootfs_tar: Path) -> str | None:
    """crun refuses some hosts (e.g. cgroup v1 hybrid); find out once, with a real container."""
    if _CRUN_PROBLEM:
        return _CRUN_PROBLEM[0] or None
    h = Harness(get_runtime("crun", str(tmp / "probe-state")), tmp / "probe", rootfs_tar)
    try:
        h.run(["true"])
        _CRUN_PROBLEM.append("")
    except HullError as e:
        _CRUN_PROBLEM.append(str(e))
    finally:
        h.cleanup()
    return _CRUN_PROBLEM[0] or None


@pytest.fixture(params=["builtin", "runc", "crun"])
def harness(request: pytest.FixtureRequest, tmp_path: Path, rootfs_tar: Path) -> Iterator[Harness]:
    name = request.param
    if name != "builtin" and shutil.which(name) is None:
        pytest.skip(f"{name} is not installed")
    libc = ctypes.CDLL(None, use_errno=True)
    if name != "builtin":
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        if name == "crun":
            problem = _crun_usable(tmp_path, rootfs_tar)
            if problem:
                pytest.skip(f"crun cannot run containers on this host: {problem}")
        h = Harness(get_runtime(name, str(tmp_path / "state")), tmp_path, rootfs_tar)
        try:
            yield h
        finally:
            h.cleanup()
    finally:
        if name != "builtin":
            libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def __repr__(self) -> str:
        return f"Result(code={self.code}, out={self.out!r}, err={self.err!r})"


def _exit_code(status: int) -> int:
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else \
        128 + os.WTERMSIG(status)


class Harness:
    """Bundles and containers for one test, on one runtime."""

    def __init__(self, runtime: Runtime, tmp: Path, rootfs_tar: Path) -> None:
        self.rt = runtime
        self.tmp = tmp
        self.rootfs_tar = rootfs_tar
        self.ids: list[str] = []
        self.pids: list[int] = []

    @property
    def name(self) -> str:
        return self.rt.name

    def bundle(self, args: list[str], **spec_kwargs) -> tuple[str, str]:  # type: ignore[no-untyped-def]
        """(container id, bundle dir) for ``args`` with Docker's defaults plus ``spec_kwargs``."""
        cid = f"hull-rt-{uuid.uuid4().hex[:10]}"
        bundle = self.tmp / cid
        (bundle / "rootfs").mkdir(parents=True)
        with tarfile.open(self.rootfs_tar) as tar:
            tar.extractall(bundle / "rootfs", filter="fully_trusted")
        spec_kwargs.setdefault("cgroups_path", f"/hull/{cid}")
        spec_kwargs.setdefault("hostname", "ctr")
        spec = default_spec(args, **spec_kwargs)
        (bundle / "config.json").write_text(json.dumps(spec))
        return cid, str(bundle)

    def cgroups_path(self, cid: str) -> str:
        return f"/hull/{cid}"

    def create(self, args: list[str], stdin: int | None = None,
               console_socket: str | None = None, **spec_kwargs) -> tuple[str, int, int, int]:  # type: ignore[no-untyped-def]
        """Create a container with piped stdout/stderr; (id, pid, stdout fd, stderr fd)."""
        cid, bundle = self.bundle(args, **spec_kwargs)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        null = os.open("/dev/null", os.O_RDONLY)
        self.ids.append(cid)
        try:
            pid = self.rt.create(cid, bundle, Stdio(null if stdin is None else stdin, out_w, err_w),
                                 console_socket=console_socket)
        except BaseException:
            os.close(out_r)
            os.close(err_r)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
            os.close(null)
        self.pids.append(pid)
        return cid, pid, out_r, err_r

    def wait(self, pid: int, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while True:
            got, status = os.waitpid(pid, os.WNOHANG)
            if got == pid:
                self.pids.remove(pid)
                return _exit_code(status)
            if time.monotonic() > deadline:
                raise AssertionError(f"pid {pid} did not exit within {timeout}s")
            time.sleep(0.005)

    @staticmethod
    def read_all(fd: int, timeout: float = 10) -> str:
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                data += chunk
        os.close(fd)
        return data.decode(errors="replace")

    def run(self, args: list[str], **spec_kwargs) -> Result:  # type: ignore[no-untyped-def]
        """create + start + wait + delete, like `docker run --rm`."""
        cid, pid, out, err = self.create(args, **spec_kwargs)
        try:
            self.rt.start(cid)
            code = self.wait(pid)
            return Result(code, self.read_all(out), self.read_all(err))
        finally:
            self.rt.delete(cid, force=True)
            self.ids.remove(cid)

    def reap(self, pid: int) -> None:
        try:
            self.wait(pid, timeout=10)
        except ChildProcessError:
            pass

    def cleanup(self) -> None:
        for cid in self.ids:
            try:
                self.rt.delete(cid, force=True)
            except HullError:
                pass
        for pid in list(self.pids):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.reap(pid)


# -- exit codes and errors --------------------------------------------------------------------


def test_exit_code_of_the_command(harness: Harness) -> None:
    assert harness.run(["sh", "-c", "exit 3"]).code == 3
    assert harness.run(["true"]).code == 0


def test_missing_command_is_127_with_dockers_message(harness: Harness) -> None:
    with pytest.raises(HullError) as info:
        harness.run(["no-such-command"])
    assert info.value.exit_code == 127
    assert 'exec: "no-such-command": executable file not found in $PATH' in str(info.value)


def test_non_executable_file_is_126(harness: Harness) -> None:
    with pytest.raises(HullError) as info:
        harness.run(["/etc/passwd"])
    assert info.value.exit_code == 126
    assert "permission denied" in str(info.value)


# -- identity and isolation ---------------------------------------------------------------


def test_hostname_user_and_pid_namespace(harness: Harness) -> None:
    script = "hostname; id; cat /proc/1/cmdline | tr '\\0' ' '; echo; ps -o pid,args; true"
    r = harness.run(["sh", "-c", script], hostname="box1")
    lines = r.out.splitlines()
    assert r.code == 0, r
    assert lines[0] == "box1"
    assert lines[1] == "uid=0(root) gid=0(root) groups=0(root)" or lines[1] == "uid=0(root) gid=0(root)"
    assert lines[2].startswith("sh -c hostname")  # the command is PID 1
    ps = lines[3:]
    assert ps[0].split() == ["PID", "COMMAND"]
    assert len(ps) == 3  # sh and ps only: no host process is visible
    assert ps[1].split()[0] == "1"


def test_user_and_groups(harness: Harness) -> None:
    r = harness.run(["id"], uid=65534, gid=65534, additional_gids=[33])
    assert r.code == 0, r
    assert r.out.strip() == "uid=65534(nobody) gid=65534(nogroup) groups=33(www-data)"


def test_env_cwd_and_umask(harness: Harness) -> None:
    r = harness.run(["sh", "-c", "echo $GREETING; pwd; umask"],
                    env=["PATH=/bin:/usr/bin", "GREETING=hello"], cwd="/var/www/new", umask=0o027)
    assert r.code == 0, r
    assert r.out.split() == ["hello", "/var/www/new", "0027"]


# -- confinement --------------------------------------------------------------------------


def _status_field(out: str, name: str) -> str:
    for line in out.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{name} not in {out!r}")


def test_default_capabilities_no_new_privs_and_seccomp(harness: Harness) -> None:
    r = harness.run(["cat", "/proc/self/status"])
    assert r.code == 0, r
    default = _cap_mask(DEFAULT_CAPABILITIES)
    for field in ("CapEff", "CapPrm", "CapBnd", "CapInh"):
        assert _status_field(r.out, field) == default, field
    assert _status_field(r.out, "CapAmb") == "0000000000000000"
    assert _status_field(r.out, "NoNewPrivs") == "0"
    assert _status_field(r.out, "Seccomp") == "2"


def test_added_and_dropped_capabilities(harness: Harness) -> None:
    caps = [c for c in DEFAULT_CAPABILITIES if c != "CAP_CHOWN"] + ["CAP_NET_ADMIN"]
    r = harness.run(["cat", "/proc/self/status"], capabilities=caps, no_new_privileges=True)
    assert _status_field(r.out, "CapEff") == _cap_mask(caps)
    assert _status_field(r.out, "NoNewPrivs") == "1"
    assert _status_field(r.out, "Seccomp") == "2"
    # CAP_CHOWN really is gone
    assert harness.run(["chown", "nobody", "/tmp"], capabilities=caps).code != 0


def test_without_seccomp_the_filter_is_off(harness: Harness) -> None:
    r = harness.run(["cat", "/proc/self/status"], seccomp=False)
    assert _status_field(r.out, "Seccomp") == "0"


def test_mount_is_denied(harness: Harness) -> None:
    r = harness.run(["mount", "-t", "tmpfs", "x", "/mnt"])
    assert r.code != 0
    assert "permission denied" in r.err.lower()


def test_proc_sys_is_read_only(harness: Harness) -> None:
    r = harness.run(["sh", "-c", "echo x > /proc/sys/kernel/domainname"])
    assert r.code != 0
    assert "Read-only file system" in r.err


def test_masked_paths_show_nothing(harness: Harness) -> None:
    r = harness.run(["sh", "-c", "wc -c < /proc/timer_list; ls /sys/firmware | wc -l; "
                                 "test -e /proc/kcore && wc -c < /proc/kcore || echo 0"])
    assert r.code == 0, r
    assert r.out.split() == ["0", "0", "0"]


def test_read_only_rootfs(harness: Harness) -> None:
    r = harness.run(["sh", "-c", "touch /file; echo $?; touch /dev/shm/ok && echo shm-ok"],
                    readonly_rootfs=True)
    assert "Read-only file system" in r.err
    assert r.out.split() == ["1", "shm-ok"]


def test_dev_has_the_standard_devices(harness: Harness) -> None:
    r = harness.run(["sh", "-c", "ls /dev | sort | tr '\\n' ' '; echo; head -c 4 /dev/zero | wc -c; "
                                 "echo x > /dev/null && echo null-ok"])
    assert r.code == 0, r
    names = r.out.splitlines()[0].split()
    for dev in ("null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm",
                "mqueue", "fd", "stdin", "stdout", "stderr"):
        assert dev in names
    assert r.out.splitlines()[1:] == ["4", "null-ok"]


def test_bind_mount_read_only(harness: Harness, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "hello.txt").write_text("from host\n")
    r = harness.run(["sh", "-c", "cat /data/hello.txt; touch /data/new"],
                    extra_mounts=[{"destination": "/data", "type": "bind",
                                   "source": str(shared), "options": ["rbind", "ro"]}])
    assert r.out == "from host\n"
    assert "Read-only file system" in r.err
    assert not (shared / "new").exists()


def test_rlimits_and_sysctl(harness: Harness) -> None:
    r = harness.run(["sh", "-c", "ulimit -n; cat /proc/sys/net/ipv4/ip_forward"],
                    rlimits=[{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 321}],
                    sysctl={"net.ipv4.ip_forward": "1"})
    assert r.code == 0, r
    assert r.out.split() == ["321", "1"]


# -- resources ----------------------------------------------------------------------------


def test_memory_limit_oom_kills(harness: Harness) -> None:
    limit = 24 * 1024 * 1024
    cid, pid, out, err = harness.create(["tail", "/dev/zero"],
                                        resources={"memory": {"limit": limit, "swap": limit}})
    harness.rt.start(cid)
    code = harness.wait(pid, timeout=60)
    harness.read_all(out)
    harness.read_all(err)
    assert code == 128 + signal.SIGKILL
    assert harness.rt.oom_killed(cid)
    harness.rt.delete(cid)
    harness.ids.remove(cid)


def test_no_oom_without_pressure(harness: Harness) -> None:
    cid, pid, out, err = harness.create(["true"], resources={"memory": {"limit": 64 << 20}})
    harness.rt.start(cid)
    assert harness.wait(pid) == 0
    assert not harness.rt.oom_killed(cid)
    harness.read_all(out)
    harness.read_all(err)


def test_pids_limit_stops_a_fork_loop(harness: Harness) -> None:
    script = ('sh -c "while true; do sleep 60 & done"; '
              "read cur < /sys/fs/cgroup/pids/pids.current; "
              "read max < /sys/fs/cgroup/pids/pids.max; "
              "echo $cur $max done; exec sleep 60")
    cid, pid, out, err = harness.create(["sh", "-c", script], resources={"pids": {"limit": 12}})
    harness.rt.start(cid)
    text = ""
    deadline = time.monotonic() + 20
    while "done" not in text and time.monotonic() < deadline:
        ready, _, _ = select.select([out], [], [], 0.2)
        if ready:
            text += os.read(out, 4096).decode()
    current, limit, _ = text.split()
    assert (limit, 10 <= int(current) <= 12) == ("12", True), text  # the loop hit the limit
    stats = harness.rt.stats(cid)
    assert stats["pids"]["limit"] == 12 and 10 <= stats["pids"]["current"] <= 12
    harness.rt.kill(cid, signal.SIGKILL, all=True)
    harness.wait(pid)
    os.close(out)
    assert "can't fork" in harness.read_all(err)


def test_stats_report_memory_and_cpu(harness: Harness) -> None:
    cid, pid, out, err = harness.create(["sleep", "30"],
                                        resources={"memory": {"limit": 100 << 20}})
    harness.rt.start(cid)
    stats = harness.rt.stats(cid)
    assert stats["memory"]["limit"] == 100 << 20
    assert stats["memory"]["usage"] > 0
    assert stats["cpu"]["usage_ns"] > 0
    harness.rt.kill(cid, signal.SIGKILL)
    harness.wait(pid)
    harness.read_all(out)
    harness.read_all(err)


# -- lifecycle ----------------------------------------------------------------------------


def test_state_moves_through_the_lifecycle(harness: Harness) -> None:
    cid, pid, out, err = harness.create(["sleep", "30"])
    st = harness.rt.state(cid)
    assert (st["id"], st["status"], st["pid"]) == (cid, "created", pid)
    assert st["bundle"].endswith(cid)
    harness.rt.start(cid)
    assert harness.rt.state(cid)["status"] == "running"
    with pytest.raises(Conflict):
        harness.rt.delete(cid)  # still running
    harness.rt.pause(cid)
    assert harness.rt.state(cid)["status"] == "paused"
    freezer = os.path.join(CGROUP_V1, "freezer", "hull", cid, "freezer.state")
    if os.path.exists(freezer):
        assert Path(freezer).read_text().strip() == "FROZEN"
    harness.rt.resume(cid)
    assert harness.rt.state(cid)["status"] == "running"
    harness.rt.kill(cid, signal.SIGKILL)
    assert harness.wait(pid) == 128 + signal.SIGKILL
    assert harness.rt.state(cid)["status"] == "stopped"
    harness.rt.delete(cid)
    harness.ids.remove(cid)
    with pytest.raises(NotFound):
        harness.rt.state(cid)
    for controller in CONTROLLERS:
        assert not os.path.exists(os.path.join(CGROUP_V1, controller, "hull", cid)), controller
    harness.read_all(out)
    harness.read_all(err)


def test_kill_delivers_signals(harness: Harness) -> None:
    cid, pid, out, err = harness.create(
        ["sh", "-c", "trap 'echo got-term; exit 7' TERM; echo ready; "
                     "while true; do sleep 0.05; done"])
    harness.rt.start(cid)
    ready, _, _ = select.select([out], [], [], 10)
    assert ready and os.read(out, 100) == b"ready\n"
    harness.rt.kill(cid, signal.SIGTERM)
    assert harness.wait(pid) == 7
    assert harness.read_all(out) == "got-term\n"
    harness.read_all(err)


def test_exec_joins_the_running_container(harness: Harness) -> None:
    cid, pid, out, err = harness.create(["sleep", "30"], hostname="exec-box")
    harness.rt.start(cid)
    exec_out_r, exec_out_w = os.pipe()
    process = {"args": ["sh", "-c", "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; "
                                    "ps -o pid,args | wc -l"],
               "env": ["PATH=/bin:/usr/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0},
               "capabilities": {k: list(DEFAULT_CAPABILITIES) for k in
                                ("bounding", "effective", "permitted")},
               "terminal": False}
    try:
        exec_pid = harness.rt.exec(cid, process, Stdio(None, exec_out_w, exec_out_w))
    finally:
        os.close(exec_out_w)
    harness.pids.append(exec_pid)
    assert harness.wait(exec_pid) == 0
    lines = harness.read_all(exec_out_r).splitlines()
    assert lines == ["exec-box", "sleep 30 ", "5"]  # header, sleep, sh, ps, wc
    with pytest.raises(HullError) as info:
        harness.rt.exec(cid, {**process, "args": ["nope"]}, Stdio())
    assert info.value.exit_code == 127
    harness.rt.kill(cid, signal.SIGKILL)
    harness.wait(pid)
    harness.read_all(out)
    harness.read_all(err)


def test_kill_all_reaches_every_process(harness: Harness) -> None:
    cid, pid, out, err = harness.create(["sh", "-c", "sleep 30 & sleep 30 & wait"])
    harness.rt.start(cid)
    deadline = time.monotonic() + 5
    while len(harness.rt.stats(cid)["pids"]["current"] and
              _procs(harness, cid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    harness.rt.kill(cid, signal.SIGKILL, all=True)
    assert harness.wait(pid) == 128 + signal.SIGKILL
    assert _procs(harness, cid) == []
    harness.read_all(out)
    harness.read_all(err)


def _procs(harness: Harness, cid: str) -> list[int]:
    path = os.path.join(CGROUP_V1, "pids", "hull", cid, "cgroup.procs")
    try:
        return [int(p) for p in Path(path).read_text().split()]
    except FileNotFoundError:
        return []


def test_delete_of_a_created_container_kills_it(harness: Harness) -> None:
    cid, pid, out, err = harness.create(["true"])
    harness.rt.delete(cid, force=True)
    harness.ids.remove(cid)
    harness.wait(pid)
    for controller in CONTROLLERS:
        assert not os.path.exists(os.path.join(CGROUP_V1, controller, "hull", cid))
    harness.read_all(out)
    harness.read_all(err)


def test_unknown_container_is_not_found(harness: Harness) -> None:
    with pytest.raises(NotFound):
        harness.rt.state("hull-rt-missing")
    with pytest.raises(NotFound):
        harness.rt.start("hull-rt-missing")


# -- terminal -----------------------------------------------------------------------------


def test_terminal_master_arrives_over_the_console_socket(harness: Harness, tmp_path: Path) -> None:
    sock_path = str(tmp_path / "console.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(1)
    try:
        cid, pid, out, err = harness.create(["sh", "-c", "tty; test -t 0 && echo is-a-tty"],
                                            console_socket=sock_path, terminal=True)
        master = _recv_master(listener)
    finally:
        listener.close()
    harness.rt.start(cid)
    assert harness.wait(pid) == 0
    assert _read_pty(master).split() == ["/dev/pts/0", "is-a-tty"]
    harness.read_all(out)
    harness.read_all(err)


def test_same_results_across_runtimes_for_a_probe_script(harness: Harness) -> None:
    """One script that prints many facts; the expected text is what runc prints."""
    script = ("hostname; id -u; cat /proc/sys/kernel/hostname; "
              "grep -c . /proc/self/cgroup >/dev/null && echo cgroup-ok; "
              "ls /sys/fs/cgroup | grep -c memory")
    r = harness.run(["sh", "-c", script])
    assert r.code == 0, r
    assert r.out.split() == ["ctr", "0", "ctr", "cgroup-ok", "1"]


def test_runtime_errors_are_one_line(harness: Harness, tmp_path: Path) -> None:
    with pytest.raises(HullError) as info:
        harness.rt.create("hull-rt-bad", str(tmp_path / "no-bundle"), Stdio())
    assert "\n" not in str(info.value).strip()


@pytest.mark.parametrize("tool", ["runc"])
def test_runc_is_the_reference_here(tool: str) -> None:
    """The reference runtime is installed; otherwise the comparison above is one-sided."""
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    assert subprocess.run([tool, "--version"], capture_output=True).returncode == 0


def test_joins_a_network_namespace_made_beforehand(harness: Harness, tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        pytest.skip("util-linux unshare is not installed")
    ns_file = tmp_path / "netns"
    ns_file.touch()
    subprocess.run(["unshare", f"--net={ns_file}", "true"], check=True)
    try:
        namespaces = {"pid": None, "mount": None, "ipc": None, "uts": None,
                      "network": str(ns_file)}
        r = harness.run(["readlink", "/proc/self/ns/net"], namespaces=namespaces)
        assert r.out.strip() == f"net:[{ns_file.stat().st_ino}]"
    finally:
        subprocess.run(["umount", "-l", str(ns_file)], check=False)


def test_device_cgroup_denies_other_devices(harness: Harness) -> None:
    r = harness.run(["sh", "-c", "mknod /tmp/blk b 7 0 && head -c 1 /tmp/blk"])
    assert r.code != 0
    assert "Operation not permitted" in r.err


def _recv_master(listener: socket.socket) -> int:
    conn, _ = listener.accept()
    try:
        _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
    finally:
        conn.close()
    assert len(fds) == 1
    return fds[0]


def _read_pty(master: int) -> str:
    data = b""
    while True:
        ready, _, _ = select.select([master], [], [], 2)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the slave side is closed
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    return data.decode().replace("\r", "")


def test_exec_with_a_terminal(harness: Harness, tmp_path: Path) -> None:
    cid, pid, out, err = harness.create(["sleep", "30"])
    harness.rt.start(cid)
    sock_path = str(tmp_path / "exec-console.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(1)
    process = {"args": ["sh", "-c", "tty; echo $TERM"], "terminal": True,
               "env": ["PATH=/bin", "TERM=xterm"], "cwd": "/", "user": {"uid": 0, "gid": 0}}
    try:
        exec_pid = harness.rt.exec(cid, process, Stdio(), console_socket=sock_path)
        harness.pids.append(exec_pid)
        master = _recv_master(listener)
    finally:
        listener.close()
    assert harness.wait(exec_pid) == 0
    lines = _read_pty(master).split()
    assert lines[0].startswith("/dev/pts/") and lines[1] == "xterm"
    harness.rt.kill(cid, signal.SIGKILL)
    harness.wait(pid)
    harness.read_all(out)
    harness.read_all(err)


def test_signals_start_with_default_dispositions(harness: Harness) -> None:
    """Nothing the caller ignores or blocks (Python ignores SIGPIPE) leaks into the container."""
    r = harness.run(["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"])
    assert r.out.split() == ["SigBlk:", "0000000000000000", "SigIgn:", "0000000000000000"]
