"""The json-file log: Docker's line format and escaping, long and unfinished lines, and what
``hull logs`` gives back from it."""

from __future__ import annotations

import json
import os
import re

import pytest

from hull.shim.jsonlog import MAX_LINE, JsonLog, encode
from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr

ctr = support.ctr
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")


@pytest.mark.parametrize("text", [
    b"plain\n", b'quote " and backslash \\\n', b"tab\tcr\r\x01\x1f\x7f\n",
    "unicode \u00e9\u4e2d\U0001f600 \u2028\n".encode(), b"<html> & </html>\n",
    b"invalid \xff\xfe utf-8\n", b"",
])
def test_encoded_lines_are_valid_json_with_dockers_escapes(text: bytes) -> None:
    line = encode(text, "stdout", "2024-01-02T03:04:05.000000001Z")
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    doc = json.loads(line)
    assert list(doc) == ["log", "stream", "time"]
    assert doc["log"] == text.decode("utf-8", errors="replace")
    assert doc["stream"] == "stdout" and doc["time"] == "2024-01-02T03:04:05.000000001Z"
    assert b"<" not in line and b">" not in line and b"&" not in line  # Go escapes them


def test_lines_are_cut_at_newlines_and_at_16k(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c-json.log"
    log = JsonLog(str(path))
    log.write("stdout", b"one\ntw")
    log.write("stderr", b"err\n")
    log.write("stdout", b"o\n" + b"x" * (MAX_LINE + 10) + b"\nlast")
    log.close()
    entries = [json.loads(line) for line in path.read_bytes().splitlines()]
    assert [(e["stream"], e["log"]) for e in entries] == [
        ("stdout", "one\n"), ("stderr", "err\n"), ("stdout", "two\n"),
        ("stdout", "x" * MAX_LINE), ("stdout", "x" * 10 + "\n"), ("stdout", "last")]
    assert all(TIME.fullmatch(e["time"]) for e in entries)


@pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
def test_a_containers_log_file_and_logs_command(ctr: Ctr) -> None:
    cid = ctr.ok("run", "--name", "talker", "busybox", "sh", "-c",
                 "echo out1; echo err1 >&2; printf 'no newline'").strip() and \
        ctr.inspect("talker")["Id"]
    log_path = ctr.inspect("talker")["LogPath"]
    assert log_path == str(ctr.root / "containers" / cid / f"{cid}-json.log")
    entries = [json.loads(line) for line in open(log_path, "rb")]
    assert sorted((e["stream"], e["log"]) for e in entries) == [
        ("stderr", "err1\n"), ("stdout", "no newline"), ("stdout", "out1\n")]
    logs = ctr.run("logs", "talker")
    assert logs.stdout == "out1\nno newline" and logs.stderr == "err1\n"
    stamped = ctr.ok("logs", "-t", "--tail", "1", "talker")
    assert TIME.match(stamped.split(" ", 1)[0]) and stamped.endswith(" no newline")
    # a second run appends to the same log
    ctr.run("start", "-a", "talker")
    assert ctr.run("logs", "talker").stdout == "out1\nno newlineout1\nno newline"


def _follow(ctr: Ctr, *args: str):  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "hull", "logs", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ctr.env())


@pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
def test_follow_across_restarts_until_the_container_stops(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "again", "--restart", "on-failure:2", "busybox", "sh", "-c",
           "sleep 0.5; echo run; echo oops >&2; exit 1")
    follower = _follow(ctr, "-f", "again")
    out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0
    assert out.decode().splitlines() == ["run"] * 3 and err.decode().splitlines() == ["oops"] * 3
    assert ctr.inspect("again")["RestartCount"] == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
def test_follow_stops_when_the_container_is_removed(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "gone", "busybox", "sh", "-c",
           "echo first; sleep 300")
    follower = _follow(ctr, "-f", "--tail", "5", "gone")
    ctr.wait_for(lambda: ctr.ok("logs", "gone") == "first\n", what="first line")
    import time

    time.sleep(0.5)
    ctr.ok("rm", "-f", "gone")
    out, _ = follower.communicate(timeout=20)
    assert out == b"first\n" and follower.returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
def test_rotation_tail_since_until_and_details(ctr: Ctr) -> None:
    ctr.ok("run", "--name", "rot", "--log-opt", "max-size=20k", "--log-opt", "max-file=3",
           "--log-opt", "labels=team", "-l", "team=blue", "busybox", "sh", "-c",
           "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done")
    cid = ctr.inspect("rot")["Id"]
    folder = ctr.root / "containers" / cid
    files = sorted(p.name for p in folder.iterdir() if "-json.log" in p.name)
    assert files == [f"{cid}-json.log", f"{cid}-json.log.1", f"{cid}-json.log.2"]
    assert all((folder / f).stat().st_size <= 20 * 1024 for f in files)
    lines = ctr.ok("logs", "rot").splitlines()
    numbers = [int(x.split("-")[1]) for x in lines]
    assert numbers == list(range(numbers[0], 3000)) and len(numbers) > 500  # in order, whole
    assert ctr.ok("logs", "--tail", "2", "rot") == "line-2998\nline-2999\n"
    assert ctr.ok("logs", "-n", "0", "rot") == ""
    assert ctr.ok("logs", "--since", "1h", "--tail", "1", "rot") == "line-2999\n"
    assert ctr.ok("logs", "--until", "1h", "rot") == ""
    assert ctr.ok("logs", "--since", "2000-01-01T00:00:00Z", "--tail", "1", "rot") == \
        "line-2999\n"
    assert ctr.ok("logs", "--since", "4102444800", "rot") == ""  # year 2100, Unix time
    assert ctr.ok("logs", "--details", "--tail", "1", "rot") == "team=blue line-2999\n"
    bad = ctr.run("logs", "--since", "yesterday-ish", "rot")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
def test_none_driver_and_bad_log_options(ctr: Ctr) -> None:
    ctr.ok("run", "--name", "quiet", "--log-driver", "none", "busybox", "echo", "hi")
    out = ctr.run("logs", "quiet")
    assert out.returncode == 1 and "does not support reading" in out.stderr
    for args, message in ((["--log-driver", "syslogx"], "no log driver named"),
                          (["--log-opt", "max-file=2"], "max-file cannot be set without"),
                          (["--log-opt", "colour=red"], "unknown log opt"),
                          (["--log-opt", "nonsense"], "invalid key value pair")):
        out = ctr.run("run", *args, "busybox", "true")
        assert out.returncode == 125 and message in out.stderr, out.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
def test_a_fast_writer_is_neither_blocked_nor_loses_lines(ctr: Ctr) -> None:
    """About 90 MB of 91-byte lines as fast as busybox can write them: every line arrives in
    order, and the json-file log does not hold the writer back much compared with no log at
    all (measured side by side, so a busy machine slows both)."""
    import time

    line = "x" * 90
    script = (f"i=0; while [ $i -lt 200 ]; do yes {line} | head -n 5000; i=$((i+1)); done;"
              " echo done")

    def timed_run(*args: str) -> float:
        started = time.monotonic()
        ctr.ok("run", "-d", *args, "busybox", "sh", "-c", script)
        ctr.ok("wait", args[1])
        return time.monotonic() - started

    without_log = timed_run("--name", "nolog", "--log-driver", "none")
    with_log = timed_run("--name", "fast")
    log_path = ctr.inspect("fast")["LogPath"]
    with open(log_path, "rb") as f:
        count = sum(1 for _ in f)
    assert count == 200 * 5000 + 1
    assert ctr.ok("logs", "--tail", "1", "fast") == "done\n"
    lines = ctr.ok("logs", "--tail", "3", "fast").splitlines()
    assert lines == [line, line, "done"]
    assert with_log < without_log * 3 + 1.0, (with_log, without_log)


@pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")
def test_follow_reads_across_rotations(ctr: Ctr) -> None:
    ctr.ok("create", "--name", "rolling", "--log-opt", "max-size=1k", "--log-opt",
           "max-file=2", "busybox", "sh", "-c",
           "i=0; while [ $i -lt 150 ]; do echo n-$i; i=$((i+1)); sleep 0.01; done")
    ctr.ok("start", "rolling")  # (following a container that is not running ends at once)
    follower = _follow(ctr, "-f", "rolling")
    out, _ = follower.communicate(timeout=60)
    assert out.decode().splitlines() == [f"n-{i}" for i in range(150)]
