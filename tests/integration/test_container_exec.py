"""``hull exec``: exit codes, user, working directory, environment, stdin, detached runs,
the container's confinement, and Docker's refusals, on both runtimes."""

from __future__ import annotations

import os
import time

import pytest

from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr

ctr = support.ctr
runtime = support.runtime
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def _caps(text: str, field: str) -> int:
    line = next(x for x in text.splitlines() if x.startswith(field + ":"))
    return int(line.split()[1], 16)


def test_exec_basics(ctr: Ctr, runtime: str) -> None:
    ctr.ok("run", "-d", "--name", "web", "--runtime", runtime, "-e", "FROM_RUN=1",
           "busybox", "sleep", "300")
    assert ctr.ok("exec", "web", "echo", "hi") == "hi\n"
    assert ctr.run("exec", "web", "sh", "-c", "exit 3").returncode == 3
    out = ctr.run("exec", "web", "sh", "-c", "echo out; echo err >&2")
    assert out.stdout == "out\n" and out.stderr == "err\n"
    got = ctr.ok("exec", "-u", "1000:1000", "-w", "/tmp", "-e", "EXTRA=yes", "web", "sh", "-c",
                 "id -u; id -g; pwd; echo $EXTRA $FROM_RUN")
    assert got.split() == ["1000", "1000", "/tmp", "yes", "1"]
    assert ctr.ok("exec", "-i", "web", "cat", input="piped in\n") == "piped in\n"
    assert ctr.ok("exec", "web", "cat", input="ignored\n") == ""  # no -i: no stdin
    pids = ctr.ok("exec", "web", "ps", "-o", "pid,args").splitlines()[1:]
    assert pids[0].split(None, 1) == ["1", "sleep 300"] and len(pids) == 2
    assert ctr.ok("exec", "web", "cat", "/proc/1/cgroup") == \
        ctr.ok("exec", "web", "cat", "/proc/self/cgroup")  # same cgroup as init


def test_exec_env_file_detach_and_missing_command(ctr: Ctr, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ctr.ok("run", "-d", "--name", "web", "busybox", "sleep", "300")
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nFROM_FILE=file\n")
    assert ctr.ok("exec", "--env-file", str(env_file), "web", "sh", "-c",
                  "echo $FROM_FILE") == "file\n"
    started = time.monotonic()
    ctr.ok("exec", "-d", "web", "sh", "-c", "sleep 1; touch /tmp/detached")
    assert time.monotonic() - started < 1
    ctr.wait_for(lambda: ctr.run("exec", "web", "test", "-e", "/tmp/detached").returncode == 0,
                 what="the detached command")
    missing = ctr.run("exec", "web", "no-such-command")
    assert missing.returncode == 126
    assert 'exec: "no-such-command": executable file not found in $PATH' in missing.stderr


def test_exec_keeps_the_containers_confinement_unless_privileged(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "web", "--cap-drop", "NET_RAW", "--security-opt",
           "no-new-privileges", "busybox", "sleep", "300")
    init = ctr.ok("exec", "web", "cat", "/proc/1/status")
    mine = ctr.ok("exec", "web", "cat", "/proc/self/status")
    assert _caps(mine, "CapBnd") == _caps(init, "CapBnd")
    assert _caps(mine, "CapEff") == _caps(init, "CapEff")
    assert not _caps(mine, "CapEff") & (1 << 13)  # CAP_NET_RAW dropped
    assert "NoNewPrivs:\t1" in mine and "Seccomp:\t2" in mine
    privileged = ctr.ok("exec", "--privileged", "web", "cat", "/proc/self/status")
    assert _caps(privileged, "CapEff") & (1 << 13) and _caps(privileged, "CapEff") & (1 << 21)


def test_exec_into_stopped_and_paused_containers(ctr: Ctr) -> None:
    ctr.ok("create", "--name", "idle", "busybox", "sleep", "300")
    out = ctr.run("exec", "idle", "true")
    cid = ctr.inspect("idle")["Id"]
    assert out.returncode == 1 and f"Container {cid} is not running" in out.stderr
    ctr.ok("run", "-d", "--name", "frozen", "busybox", "sleep", "300")
    ctr.ok("pause", "frozen")
    out = ctr.run("exec", "frozen", "true")
    fid = ctr.inspect("frozen")["Id"]
    assert out.returncode == 1
    assert f"Container {fid} is paused, unpause the container before exec" in out.stderr
    ctr.ok("unpause", "frozen")
    missing = ctr.run("exec", "nothere", "true")
    assert missing.returncode != 0 and "No such container" in missing.stderr
    assert "Traceback" not in missing.stderr + out.stderr


def _fast(ctr: Ctr, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    """``hull exec`` through the click-free entry (exit 99: it handed over to click)."""
    import subprocess
    import sys

    code = ("import os, sys\nfrom hull.cli.commands.exec_core import fast_exec\n"
            "from hull.errors import HullError\n"
            "try:\n    rc = fast_exec(sys.argv[1:])\n"
            "except HullError as e:\n    print(f'Error: {e}', file=sys.stderr)\n"
            "    rc = e.exit_code\n"
            "sys.stdout.flush()\nsys.stderr.flush()\nos._exit(99 if rc is None else rc)")
    return subprocess.run([sys.executable, "-c", code, *args], input=input, text=True,
                          capture_output=True, env=ctr.env(), timeout=60)


def test_exec_without_click_matches_the_command(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "web", "busybox", "sleep", "300")
    out = _fast(ctr, "-u", "1000", "-w", "/tmp", "-e", "A=1", "--env=B=2", "web", "sh", "-c",
                "id -u; pwd; echo $A$B; echo err >&2; exit 4")
    assert (out.returncode, out.stdout, out.stderr) == (4, "1000\n/tmp\n12\n", "err\n")
    assert _fast(ctr, "-i", "web", "cat", input="piped\n").stdout == "piped\n"
    assert _fast(ctr, "-d", "web", "true").returncode == 0
    missing = _fast(ctr, "nothere", "true")
    assert missing.returncode == 1 and missing.stderr == "Error: No such container: nothere\n"
    for args in (["--help"], ["--bogus", "web", "true"], ["web"], ["-u"]):
        assert _fast(ctr, *args).returncode == 99  # left to click, which explains
    assert _fast(ctr, "-it", "web", "true").stderr == "Error: the input device is not a TTY\n"


def test_exec_arguments_parsed_without_click() -> None:
    from hull.cli.commands.exec_core import parse_args

    opts, container, command = parse_args(  # type: ignore[misc]
        ["-it", "-u", "app", "--workdir=/srv", "-e", "A=1", "--env", "B=2", "--privileged",
         "web", "sh", "-c", "echo -e x"])
    assert (container, command) == ("web", ["sh", "-c", "echo -e x"])
    assert opts["interactive"] and opts["tty"] and opts["privileged"] and not opts["detach"]
    assert (opts["user"], opts["workdir"], opts["env"]) == ("app", "/srv", ("A=1", "B=2"))
    assert parse_args(["--", "web", "ls", "-l"])[1:] == ("web", ["ls", "-l"])  # type: ignore[index]
    for args in (["web"], ["--help"], ["-x", "web", "ls"], ["-u"], ["-iz", "web", "ls"]):
        assert parse_args(args) is None


def test_exec_finds_running_containers_by_name_and_id_without_the_database(ctr: Ctr) -> None:
    cid = ctr.ok("run", "-d", "--name", "first", "busybox", "sleep", "300").strip()
    assert (ctr.run_root / "containers" / cid / "name").read_text() == "first"
    ctr.ok("rename", "first", "second")
    old = ctr.run("exec", "first", "true")
    assert old.returncode == 1 and old.stderr == "Error: No such container: first\n"
    assert ctr.ok("exec", "second", "echo", "renamed") == "renamed\n"
    assert ctr.ok("exec", cid, "hostname") == ctr.ok("exec", cid[:8], "hostname")
    ctr.ok("run", "-d", "--name", "first", "busybox", "sleep", "300")  # the old name, reused
    assert ctr.ok("exec", "first", "hostname") != ctr.ok("exec", "second", "hostname")


def test_exec_into_a_container_whose_shim_died_is_refused(ctr: Ctr) -> None:
    import signal

    cid = ctr.ok("run", "-d", "--name", "orphan", "busybox", "sleep", "300").strip()
    pid, _ = (ctr.run_root / "containers" / cid / "shim").read_text().split()
    os.kill(int(pid), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.02)
    out = ctr.run("exec", "orphan", "true")
    assert out.returncode == 1 and "is not running" in out.stderr
    assert ctr.state("orphan")["Running"] is False
