"""Crashes, a simulated reboot, concurrency, the shim's independence and memory, bad input."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr, leftover_cgroups, mounts_below

ctr = support.ctr
runtime = support.runtime
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")

SHIM_RSS_LIMIT_KB = 13 * 1024


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        raw = f.read()
    return int(raw[raw.rindex(b")") + 2:].split()[1])


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return True
    return raw[raw.rindex(b")") + 2:].split()[0] in (b"Z", b"X")


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


def test_kill_9_of_the_shim_shows_the_container_exited_and_frees_it(ctr: Ctr,
                                                                     runtime: str) -> None:
    cid = ctr.ok("run", "-d", "--runtime", runtime, "--name", "orphan", "busybox", "sleep",
                 "300").strip()
    init = ctr.state("orphan")["Pid"]
    shim = _parent(init)
    os.kill(shim, signal.SIGKILL)
    ctr.wait_for(lambda: _gone(shim), what="the shim to die")
    status = ctr.ok("ps", "-a", "--format", "{{.Names}} {{.Status}}").strip()
    assert status.startswith("orphan Exited (137)")
    assert ctr.state("orphan")["Running"] is False
    ctr.wait_for(lambda: _gone(init), what="the container's init to be killed")
    assert leftover_cgroups([cid]) == []
    assert mounts_below(ctr.run_root) == []
    assert not (ctr.run_root / "netns" / cid).exists()
    # and it can run again
    ctr.ok("start", "orphan")
    assert ctr.state("orphan")["Running"] is True


def test_kill_9_of_the_init_records_137(ctr: Ctr, runtime: str) -> None:
    cid = ctr.ok("run", "-d", "--runtime", runtime, "--name", "victim", "busybox", "sleep",
                 "300").strip()
    init = ctr.state("victim")["Pid"]
    os.kill(init, signal.SIGKILL)
    assert ctr.ok("wait", "victim") == "137\n"
    assert ctr.ok("ps", "-a", "--format", "{{.Status}}").startswith("Exited (137)")
    assert leftover_cgroups([cid]) == []
    assert mounts_below(ctr.run_root) == []


def test_a_reboot_leaves_a_consistent_state_that_start_recovers(ctr: Ctr) -> None:
    ids = [ctr.ok("run", "-d", "--name", name, "busybox", "sh", "-c",
                  f"echo {name} >> /boots; cat /boots; sleep 300").strip()
           for name in ("one", "two")]
    ctr.wait_for(lambda: all("one" in ctr.ok("logs", n) or "two" in ctr.ok("logs", n)
                             for n in ("one", "two")), what="logs")
    # the "reboot": every process dies, run_root's mounts and files and the cgroups vanish
    inits = [ctr.state(n)["Pid"] for n in ("one", "two")]
    shims = [_parent(p) for p in inits]
    for pid in shims + inits:
        os.kill(pid, signal.SIGKILL)
    ctr.wait_for(lambda: all(_gone(p) for p in shims + inits), what="processes to die")
    for mnt in sorted(mounts_below(ctr.run_root), key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], check=True)
    for path in leftover_cgroups(ids):
        ctr.wait_for(lambda p=path: _rmdir(p), what=f"rmdir {path}")
    subprocess.run(["rm", "-rf", str(ctr.run_root)], check=True)
    listing = ctr.ok("ps", "-a", "--format", "{{.Names}}|{{.Status}}").splitlines()
    assert sorted(line.split(" ")[0] for line in listing) == ["one|Exited", "two|Exited"]
    assert ctr.ok("ps", "-q") == ""
    ctr.ok("start", "one", "two")
    running = ctr.ok("ps", "--format", "{{.Names}}").split()
    assert sorted(running) == ["one", "two"]
    ctr.wait_for(lambda: ctr.ok("logs", "one").count("one") >= 3, what="second boot log")
    assert ctr.ok("logs", "one").splitlines()[-2:] == ["one", "one"]  # /boots survived


def _rmdir(path: str) -> bool:
    try:
        os.rmdir(path)
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


def test_ten_concurrent_runs_all_succeed_with_distinct_names(ctr: Ctr) -> None:
    procs = [subprocess.Popen([sys.executable, "-m", "hull", "run", "-d", "busybox", "sleep",
                               "60"], env=ctr.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(10)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 10, results
    ids = [out.strip() for out, _ in results]
    assert len(set(ids)) == 10
    names = ctr.ok("ps", "--format", "{{.Names}}").split()
    assert len(names) == 10 and len(set(names)) == 10
    assert all("_" in n for n in names)
    assert len({p.name for p in (ctr.root / "containers").iterdir()}) == 10
    ctr.ok("rm", "-f", *ids)


def test_concurrent_runs_with_one_name_give_one_winner(ctr: Ctr) -> None:
    procs = [subprocess.Popen([sys.executable, "-m", "hull", "run", "-d", "--name", "web",
                               "busybox", "sleep", "60"], env=ctr.env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(5)]
    results = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 125, 125, 125, 125], results
    winner = next(out.strip() for out, _ in results if out.strip())
    for (_, err), p in zip(results, procs, strict=True):
        if p.returncode:
            assert err.strip() == (
                f'Error: Conflict. The container name "/web" is already in use by container'
                f' "{winner}". You have to remove (or rename) that container to be able to'
                " reuse that name.")


def test_the_container_outlives_a_killed_cli(ctr: Ctr) -> None:
    cli = subprocess.Popen([sys.executable, "-m", "hull", "run", "--name", "survivor",
                            "busybox", "sh", "-c", "sleep 1; echo finished"], env=ctr.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ctr.wait_for(lambda: ctr.run("ps", "-q", "--filter", "name=survivor").stdout.strip(),
                 what="the container to run")
    cli.kill()
    cli.communicate()
    assert ctr.ok("wait", "survivor") == "0\n"
    assert ctr.ok("logs", "survivor") == "finished\n"


def test_detached_rm_removes_the_container_when_it_exits(ctr: Ctr) -> None:
    cid = ctr.ok("run", "-d", "--rm", "busybox", "sh", "-c", "sleep 0.5").strip()
    ctr.wait_for(lambda: ctr.ok("ps", "-aq") == "", what="removal")
    assert not (ctr.root / "containers" / cid).exists()


def test_a_waiting_shim_is_lean(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "idle", "busybox", "sleep", "300")
    shim = _parent(ctr.state("idle")["Pid"])
    time.sleep(0.6)  # past the hand-over to the lean monitor
    assert _rss_kb(shim) <= SHIM_RSS_LIMIT_KB
    with open(f"/proc/{shim}/cmdline", "rb") as f:
        assert b"hull.shim.monitor" in f.read()
    # the lean monitor still does its job: output, logs, stop
    ctr.ok("stop", "-t", "1", "idle")
    assert ctr.state("idle")["ExitCode"] == 137


def test_long_running_output_is_logged_across_the_hand_over(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "chatty", "busybox", "sh", "-c",
           "for i in $(seq 1 20); do echo line $i; sleep 0.05; done; echo err >&2")
    assert ctr.ok("wait", "chatty") == "0\n"
    logs = ctr.run("logs", "chatty")
    assert logs.stdout == "".join(f"line {i}\n" for i in range(1, 21))
    assert logs.stderr == "err\n"
    attached = ctr.run("run", "--rm", "busybox", "sh", "-c",
                       "for i in $(seq 1 10); do echo tick $i; sleep 0.05; done; exit 4")
    assert attached.returncode == 4
    assert attached.stdout == "".join(f"tick {i}\n" for i in range(1, 11))


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--rm", "nosuchimage"], "Error: No such image: nosuchimage:latest"),
    (["run", "--rm", "--memory", "12q", "busybox", "true"],
     "Error: invalid argument \"12q\" for \"-m, --memory\" flag: invalid size: '12q'"),
    (["run", "--rm", "--cpus", "-1", "busybox", "true"],
     "Error: Range of CPUs is from 0.01 to"),
    (["run", "--rm", "--cpus", "lots", "busybox", "true"], "invalid argument \"lots\""),
    (["run", "--rm", "--network", "none", "-p", "8080:80", "busybox", "true"], "conflicting"),
    (["run", "--rm", "--ulimit", "nofile", "busybox", "true"], "invalid ulimit argument"),
    (["run", "--rm", "--runtime", "nosuch", "busybox", "true"], "unknown runtime"),
    (["run", "--rm", "--network", "nosuchnet", "busybox", "true"], "network nosuchnet not found"),
    (["run", "--rm", "--name", "-bad", "busybox", "true"], "Invalid container name"),
    (["run", "--rm", "--memory", "1k", "busybox", "true"], "Minimum memory limit"),
    (["run", "--rm", "-w", "relative", "busybox", "true"], "needs to be an absolute path"),
    (["create", "busybox"], None),
])
def test_bad_run_input_is_one_line_and_exit_125(ctr: Ctr, args: list[str],
                                                message: str | None) -> None:
    r = ctr.run(*args)
    if message is None:  # busybox has no CMD: Docker's "No command specified"
        assert r.returncode == 125 and r.stderr.strip() == "Error: No command specified"
        return
    assert r.returncode == 125, r
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert ctr.all_ids() == [] or args[0] == "create"


@pytest.mark.parametrize("command", [["start"], ["stop"], ["kill"], ["rm"], ["logs"],
                                     ["pause"], ["wait"], ["top"], ["restart"]])
def test_unknown_container_is_one_line_and_exit_1(ctr: Ctr, command: list[str]) -> None:
    r = ctr.run(*command, "ghost")
    assert r.returncode == 1
    assert r.stderr.strip() == "Error: No such container: ghost"


def test_stale_lock_files_and_dirs_do_not_block_a_start(ctr: Ctr, tmp_path: Path) -> None:
    ctr.ok("create", "--name", "again", "busybox", "echo", "ok")
    assert ctr.ok("start", "-a", "again") == "ok\n"
    assert ctr.ok("start", "-a", "again") == "ok\n"
