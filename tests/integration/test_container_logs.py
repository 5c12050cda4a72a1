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
