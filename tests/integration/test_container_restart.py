"""Restart policies with a container that exits non-zero, back-off, ``stop`` ending the loop,
``update --restart``, and ``system restore`` after a simulated reboot."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import sqlite3
import subprocess
import time

import pytest

from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr

ctr = support.ctr
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def test_on_failure_restarts_up_to_the_limit(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "flaky", "--restart", "on-failure:3", "busybox", "sh", "-c",
           "echo attempt; exit 3")
    ctr.wait_for(lambda: ctr.state("flaky")["Status"] == "exited"
                 and ctr.inspect("flaky")["RestartCount"] == 3, what="three restarts")
    time.sleep(1.0)  # no fourth run comes
    doc = ctr.inspect("flaky")
    assert doc["RestartCount"] == 3 and doc["State"]["ExitCode"] == 3
    assert ctr.ok("logs", "flaky").splitlines() == ["attempt"] * 4
    assert doc["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}


def test_on_failure_leaves_a_clean_exit_alone(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "fine", "--restart", "on-failure", "busybox", "true")
    ctr.wait_for(lambda: ctr.state("fine")["Status"] == "exited", what="exit")
    time.sleep(0.5)
    assert ctr.inspect("fine")["RestartCount"] == 0


def test_always_restarts_with_growing_back_off_until_stop(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "loop", "--restart", "always", "busybox", "sh", "-c",
           "echo run; exit 1")
    ctr.wait_for(lambda: ctr.inspect("loop")["RestartCount"] >= 4, what="four restarts")
    started = time.monotonic()
    ctr.ok("stop", "loop")
    assert time.monotonic() - started < 5
    state = ctr.state("loop")
    assert state["Status"] == "exited" and not state["Restarting"]
    count = ctr.inspect("loop")["RestartCount"]
    time.sleep(2)
    assert ctr.inspect("loop")["RestartCount"] == count and not ctr.state("loop")["Running"]
    stamps = [_unix(line.split()[0]) for line in ctr.ok("logs", "-t", "loop").splitlines()]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert gaps[2] > gaps[0] * 1.5  # 0.1 s, 0.2 s, 0.4 s, ... between runs


def test_stop_during_back_off_ends_the_loop(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "slow", "--restart", "always", "busybox", "false")
    ctr.wait_for(lambda: ctr.inspect("slow")["RestartCount"] >= 5, timeout=30,
                 what="restarts with a long back-off")
    ctr.ok("stop", "slow")
    assert ctr.state("slow")["Status"] == "exited"


def test_update_restart_policy_of_a_running_container(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "upd", "busybox", "sh", "-c", "sleep 1; exit 2")
    ctr.ok("update", "--restart", "on-failure:1", "upd")
    assert ctr.inspect("upd")["HostConfig"]["RestartPolicy"]["Name"] == "on-failure"
    ctr.wait_for(lambda: ctr.inspect("upd")["RestartCount"] == 1
                 and ctr.state("upd")["Status"] == "exited", timeout=20, what="one restart")
    bad = ctr.run("update", "--restart", "sometimes", "upd")
    assert bad.returncode != 0 and "invalid restart policy" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_restart_flag_errors(ctr: Ctr) -> None:
    for args, message in ((["--restart", "always", "--rm"], "Conflicting options"),
                          (["--restart", "always:3"], "maximum retry count"),
                          (["--restart", "never"], "invalid restart policy")):
        out = ctr.run("run", *args, "busybox", "true")
        assert out.returncode == 125 and message in out.stderr, out.stderr


def _unix(stamp: str) -> float:
    from datetime import datetime

    whole, _, frac = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + (frac or "0"))


def _db(ctr: Ctr, name: str) -> dict:
    import json

    conn = sqlite3.connect(ctr.root / "hull.db")
    try:
        row = conn.execute("SELECT data FROM containers WHERE name = ?", (name,)).fetchone()
    finally:
        conn.close()
    return json.loads(row[0])


def _simulate_reboot(ctr: Ctr, names: list[str]) -> None:
    """Every shim and container process killed, /run/hull gone (its mounts too)."""
    for name in names:
        data = _db(ctr, name)
        for pid in (data["Hull"].get("ShimPid"), data["State"].get("Pid")):
            if pid:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
    time.sleep(0.3)
    prefix = str(ctr.run_root) + "/"
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f if line.split()[4].startswith(prefix)]
    for mnt in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], check=False)
    shutil.rmtree(ctr.run_root)


def test_system_restore_after_a_reboot(ctr: Ctr) -> None:
    for name, policy in (("always1", "always"), ("unless1", "unless-stopped"),
                         ("stopped1", "unless-stopped"), ("none1", "no")):
        ctr.ok("run", "-d", "--name", name, "--restart", policy, "busybox", "sleep", "300")
    ctr.ok("stop", "-t", "0", "stopped1")
    _simulate_reboot(ctr, ["always1", "unless1", "none1"])
    restored = ctr.ok("system", "restore").split()
    assert sorted(restored) == ["always1", "unless1"]
    for name in ("always1", "unless1"):
        assert ctr.state(name)["Running"]
        assert ctr.ok("exec", name, "echo", "alive") == "alive\n"
    assert not ctr.state("none1")["Running"] and not ctr.state("stopped1")["Running"]


def test_kill_disables_the_policy_but_a_harmless_signal_does_not(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "trap", "--restart", "always", "busybox", "sh", "-c",
           "trap 'exit 9' USR1; while true; do sleep 0.1; done")
    time.sleep(0.5)
    ctr.ok("kill", "-s", "USR1", "trap")  # the process exits; the policy stays
    ctr.wait_for(lambda: ctr.inspect("trap")["RestartCount"] == 1
                 and ctr.state("trap")["Running"], what="a restart after SIGUSR1")
    ctr.ok("kill", "trap")
    ctr.wait_for(lambda: ctr.state("trap")["Status"] == "exited", what="exit after SIGKILL")
    time.sleep(1)
    assert ctr.inspect("trap")["RestartCount"] == 1
    assert ctr.state("trap")["ExitCode"] == 137


def test_restart_policy_grammar() -> None:
    from hull.engine.container_restart import parse_restart_policy
    from hull.shim.restart import next_delay, should_restart

    assert parse_restart_policy(None) == {"Name": "no", "MaximumRetryCount": 0}
    assert parse_restart_policy("on-failure:5") == {"Name": "on-failure",
                                                    "MaximumRetryCount": 5}
    spec = {"restart_policy": "on-failure", "restart_max": 2, "restart_count": 1}
    assert should_restart(spec, 1, False) and not should_restart(spec, 0, False)
    assert not should_restart({**spec, "restart_count": 2}, 1, False)
    assert not should_restart({"restart_policy": "always"}, 0, True)  # a user stopped it
    delays = [next_delay(spec, 1.0) for _ in range(12)]
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8] and delays[-1] == 60.0
    assert next_delay(spec, 15.0) == 0.1  # a run of 10 s or more resets the back-off


def test_a_restarting_container_is_named_so_by_rm_and_ps(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "bouncy", "--restart", "always", "busybox", "false")
    ctr.wait_for(lambda: ctr.inspect("bouncy")["RestartCount"] >= 6, timeout=30,
                 what="a long back-off")
    ctr.wait_for(lambda: ctr.state("bouncy")["Restarting"], what="the back-off")
    out = ctr.run("rm", "bouncy")
    assert out.returncode == 1 and "You cannot remove a restarting container" in out.stderr
    status = ctr.ok("ps", "--filter", "name=bouncy", "--format", "{{.Status}}")
    assert status.startswith("Restarting (1)")
    ctr.ok("rm", "-f", "bouncy")
    assert ctr.all_ids() == []
