"""Container lifecycle through the real CLI: run, create/start, ps, logs, stop, kill, pause,
wait, restart, rm, rename, inspect, top, prune; exit codes and error messages like Docker's."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr

ctr = support.ctr
runtime = support.runtime
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def test_run_prints_output_and_exits_with_the_container_code(ctr: Ctr, runtime: str) -> None:
    r = ctr.run("run", "--runtime", runtime, "busybox", "sh", "-c",
                "echo to-out; echo to-err >&2; exit 3")
    assert r.returncode == 3
    assert r.stdout == "to-out\n"
    assert r.stderr == "to-err\n"
    ok = ctr.run("run", "--rm", "--runtime", runtime, "busybox", "true")
    assert ok.returncode == 0 and ok.stdout == "" and ok.stderr == ""


def test_missing_and_unrunnable_commands_exit_127_and_126(ctr: Ctr, runtime: str) -> None:
    missing = ctr.run("run", "--runtime", runtime, "--name", "missing", "busybox", "nosuch")
    assert missing.returncode == 127
    assert 'exec: "nosuch": executable file not found in $PATH' in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    state = ctr.state("missing")
    assert state["Status"] == "created" and state["ExitCode"] == 127
    assert "nosuch" in state["Error"]
    denied = ctr.run("run", "--rm", "--runtime", runtime, "busybox", "/etc/passwd")
    assert denied.returncode == 126
    assert "permission denied" in denied.stderr
    assert ctr.ok("ps", "-aq", "--filter", "name=missing").strip()
    assert len(ctr.all_ids()) == 1  # --rm removed the failed one


def test_detached_run_ps_logs_and_stop(ctr: Ctr, runtime: str) -> None:
    cid = ctr.ok("run", "-d", "--runtime", runtime, "--name", "web", "busybox", "sh", "-c",
                 "echo started; echo oops >&2; trap 'echo bye; exit 0' TERM; "
                 "while true; do sleep 0.1; done").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    ctr.wait_for(lambda: "started" in ctr.ok("logs", "web"), what="log output")
    table = ctr.ok("ps").splitlines()
    assert table[0].split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                                "PORTS", "NAMES"]
    assert table[1].startswith(cid[:12] + "   busybox   \"sh -c 'echo started…\"") or \
        table[1].startswith(cid[:12] + "   busybox   \"sh -c echo started;")
    assert re.search(r"\s{3}Up (Less than a second|\d+ seconds?)\s{3}", table[1])
    assert table[1].endswith("web")
    logs = ctr.run("logs", "web")
    assert logs.stdout == "started\n" and logs.stderr == "oops\n"
    t0 = time.monotonic()
    assert ctr.ok("stop", "web") == "web\n"
    assert time.monotonic() - t0 < 5  # the trap handled TERM: no 10 s wait
    state = ctr.state("web")
    assert state["Status"] == "exited" and state["ExitCode"] == 0 and not state["Running"]
    assert ctr.ok("logs", "web") == "started\nbye\n"
    assert ctr.ok("ps", "-q") == ""
    status = ctr.ok("ps", "-a", "--format", "{{.Names}}|{{.Status}}").strip()
    assert re.fullmatch(r"web\|Exited \(0\) (Less than a second|\d+ seconds?) ago", status)


def test_stop_kills_after_the_timeout_and_records_137(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "stubborn", "busybox", "sleep", "300")  # pid 1 ignores TERM
    t0 = time.monotonic()
    ctr.ok("stop", "-t", "1", "stubborn")
    took = time.monotonic() - t0
    assert 0.9 < took < 6
    assert ctr.state("stubborn")["ExitCode"] == 137


def test_stop_signal_and_kill_signal(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "sg", "--stop-signal", "USR1", "busybox", "sh", "-c",
           "trap 'exit 42' USR1; while true; do sleep 0.1; done")
    ctr.ok("stop", "sg")
    assert ctr.state("sg")["ExitCode"] == 42
    ctr.ok("run", "-d", "--name", "kk", "busybox", "sh", "-c",
           "trap 'exit 7' HUP; while true; do sleep 0.1; done")
    assert ctr.ok("kill", "-s", "HUP", "kk") == "kk\n"
    assert ctr.ok("wait", "kk") == "7\n"
    again = ctr.run("kill", "kk")
    assert again.returncode == 1 and "is not running" in again.stderr
    bad = ctr.run("run", "-d", "--name", "k2", "busybox", "sleep", "30")
    assert bad.returncode == 0
    wrong = ctr.run("kill", "-s", "NOPE", "k2")
    assert wrong.returncode == 1 and "Invalid signal: NOPE" in wrong.stderr


def test_pause_and_unpause(ctr: Ctr, runtime: str) -> None:
    ctr.ok("run", "-d", "--runtime", runtime, "--name", "pp", "busybox", "sh", "-c",
           "i=0; while true; do i=$((i+1)); echo $i > /tick; sleep 0.05; done")
    ctr.ok("pause", "pp")
    state = ctr.state("pp")
    assert state["Paused"] and state["Status"] == "paused" and state["Running"]
    assert ctr.ok("ps", "--format", "{{.Status}}").strip().endswith("(Paused)")
    assert "is already paused" in ctr.run("pause", "pp").stderr
    ctr.ok("unpause", "pp")
    assert ctr.state("pp")["Status"] == "running"
    assert "is not paused" in ctr.run("unpause", "pp").stderr
    ctr.ok("rm", "-f", "pp")


def test_create_then_start_attached_and_interactive(ctr: Ctr) -> None:
    cid = ctr.ok("create", "--name", "c1", "busybox", "sh", "-c", "echo hi; exit 5").strip()
    assert ctr.state("c1")["Status"] == "created"
    assert "Created" in ctr.ok("ps", "-a", "--format", "{{.Status}}")
    r = ctr.run("start", "-a", "c1")
    assert r.returncode == 5 and r.stdout == "hi\n"
    assert ctr.inspect(cid)["State"]["ExitCode"] == 5
    echo = ctr.run("run", "-i", "--rm", "busybox", "sh", "-c", "tr a-z A-Z; echo done",
                   input="hello stdin\n")
    assert echo.returncode == 0 and echo.stdout == "HELLO STDIN\ndone\n"


def test_restart_and_wait(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "rr", "busybox", "sh", "-c",
           "echo run >> /count; trap 'exit 0' TERM; while true; do sleep 0.1; done")
    first = ctr.state("rr")["StartedAt"]
    assert ctr.ok("restart", "-t", "5", "rr") == "rr\n"
    state = ctr.state("rr")
    assert state["Running"] and state["StartedAt"] != first
    r = ctr.run("run", "--rm", "busybox", "true")
    assert r.returncode == 0
    ctr.ok("run", "-d", "--name", "ww", "busybox", "sh", "-c", "sleep 0.3; exit 9")
    assert ctr.ok("wait", "ww") == "9\n"


def test_rm_refuses_a_running_container_and_force_removes(ctr: Ctr) -> None:
    cid = ctr.ok("run", "-d", "--name", "busy", "busybox", "sleep", "300").strip()
    r = ctr.run("rm", "busy")
    assert r.returncode == 1
    assert f"You cannot remove a running container {cid}. Stop the container before" \
        " attempting removal or force remove" in r.stderr
    assert ctr.ok("rm", "-f", "-v", "busy") == "busy\n"
    assert ctr.all_ids() == []
    assert not (ctr.root / "containers" / cid).exists()
    missing = ctr.run("rm", "busy")
    assert missing.returncode == 1 and missing.stderr.strip() == "Error: No such container: busy"


def test_rename_and_name_conflicts(ctr: Ctr) -> None:
    cid = ctr.ok("create", "--name", "web", "busybox", "true").strip()
    dup = ctr.run("run", "-d", "--name", "web", "busybox", "true")
    assert dup.returncode == 125
    assert dup.stderr.strip() == (
        f'Error: Conflict. The container name "/web" is already in use by container "{cid}".'
        " You have to remove (or rename) that container to be able to reuse that name.")
    ctr.ok("rename", "web", "site")
    assert ctr.inspect(cid)["Name"] == "/site"
    ctr.ok("create", "--name", "web", "busybox", "true")
    clash = ctr.run("rename", "web", "site")
    assert clash.returncode == 1 and 'The container name "/site" is already in use' in \
        clash.stderr


def test_inspect_has_dockers_shape(ctr: Ctr) -> None:
    cid = ctr.ok("run", "-d", "--name", "insp", "-e", "A=1", "-l", "tier=web",
                 "--memory", "64m", "--cpus", "0.5", "--pids-limit", "50", "busybox",
                 "sleep", "300").strip()
    doc = ctr.inspect("insp")
    for key in ("Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath",
                "HostnamePath", "HostsPath", "LogPath", "Name", "RestartCount", "Driver",
                "Platform", "HostConfig", "GraphDriver", "Mounts", "Config",
                "NetworkSettings"):
        assert key in doc, key
    assert "Hull" not in doc
    assert doc["Id"] == cid and doc["Path"] == "sleep" and doc["Args"] == ["300"]
    state = doc["State"]
    assert set(state) >= {"Status", "Running", "Paused", "Pid", "ExitCode", "StartedAt",
                          "FinishedAt", "OOMKilled"}
    assert state["Running"] and state["Pid"] > 0 and os.path.exists(f"/proc/{state['Pid']}")
    assert doc["Image"].startswith("sha256:")
    assert doc["Config"]["Image"] == "busybox" and "A=1" in doc["Config"]["Env"]
    assert doc["Config"]["Labels"] == {"tier": "web"}
    assert doc["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert doc["HostConfig"]["NanoCpus"] == 500_000_000
    assert doc["HostConfig"]["PidsLimit"] == 50
    assert doc["GraphDriver"]["Data"]["MergedDir"]
    assert ctr.ok("inspect", "-f", "{{.State.Status}} {{.Name}}", "insp") == "running /insp\n"
    assert ctr.ok("container", "inspect", "-f", "{{.Config.Hostname}}", cid[:8]) == \
        cid[:12] + "\n"
    # `inspect` of an image still works, and an unknown name is reported per name
    assert json.loads(ctr.ok("inspect", "busybox"))[0]["RepoTags"] == ["busybox:latest"]
    r = ctr.run("inspect", "nosuchthing")
    assert r.returncode == 1 and "No such object: nosuchthing" in r.stderr


def test_top_lists_the_container_processes(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "tt", "busybox", "sh", "-c", "sleep 301 & sleep 302")
    ctr.wait_for(lambda: "sleep 302" in ctr.ok("top", "tt"), what="processes")
    out = ctr.ok("top", "tt")
    header = out.splitlines()[0].split()
    assert header[:3] == ["UID", "PID", "PPID"]
    assert "sleep 301" in out and "sleep 302" in out
    assert "pytest" not in out


def test_environment_workdir_user_entrypoint_hostname(ctr: Ctr, tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("# comment\nFROM_FILE=yes\n\nOVERRIDE=file\n")
    out = ctr.ok("run", "--rm", "--env-file", str(env_file), "-e", "OVERRIDE=flag", "-w",
                 "/tmp/work", "-u", "nobody", "-h", "myhost", "busybox", "sh", "-c",
                 "echo $FROM_FILE $OVERRIDE; pwd; id -u; hostname; cat /etc/hostname;"
                 " echo $HOSTNAME")
    assert out.split("\n")[:6] == ["yes flag", "/tmp/work", "65534", "myhost", "myhost",
                                   "myhost"]
    assert ctr.ok("run", "--rm", "-u", "1000:1000", "busybox", "id").startswith(
        "uid=1000 gid=1000")
    assert ctr.ok("run", "--rm", "--entrypoint", "echo", "busybox", "a", "b") == "a b\n"
    bad_user = ctr.run("run", "--rm", "-u", "nosuchuser", "busybox", "true")
    assert bad_user.returncode == 125
    assert "unable to find user nosuchuser" in bad_user.stderr


def test_init_reaps_and_forwards(ctr: Ctr) -> None:
    out = ctr.ok("run", "--rm", "--init", "busybox", "sh", "-c",
                 "cat /proc/1/cmdline | tr '\\0' ' '")
    assert out.startswith("/sbin/docker-init -- sh")


def test_prune_removes_only_stopped_containers(ctr: Ctr) -> None:
    stopped = ctr.ok("create", "--name", "old", "busybox", "true").strip()
    ctr.ok("run", "-d", "--name", "alive", "busybox", "sleep", "300")
    out = ctr.ok("container", "prune", "-f")
    assert out.startswith(f"Deleted Containers:\n{stopped}\n")
    assert "Total reclaimed space:" in out
    assert ctr.ok("ps", "-a", "--format", "{{.Names}}") == "alive\n"


def test_read_only_rootfs_and_ulimit(ctr: Ctr) -> None:
    r = ctr.run("run", "--rm", "--read-only", "busybox", "touch", "/x")
    assert r.returncode != 0 and "Read-only file system" in r.stderr
    assert ctr.ok("run", "--rm", "--ulimit", "nofile=512:1024", "busybox", "sh", "-c",
                  "ulimit -n; ulimit -Hn") == "512\n1024\n"
