"""``hull stats``: CPU, memory, PIDs, network and block I/O of containers, once or streamed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr

ctr = support.ctr
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups

HEADER = re.compile(r"^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +"
                    r"BLOCK I/O +PIDS$")
SIZE = r"[\d.]+(B|kB|MB|GB|KiB|MiB|GiB|TiB)"


def _percent(text: str) -> float:
    assert text.endswith("%"), text
    return float(text[:-1])


def _bytes(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([A-Za-z]+)", text).groups()
    scale = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1024, "MiB": 1024 ** 2,
             "GiB": 1024 ** 3, "TiB": 1024 ** 4}[unit]
    return float(number) * scale


def test_no_stream_table_shows_cpu_memory_and_pids(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "busy", "--network", "none", "busybox", "sh", "-c",
           "while :; do :; done")
    ctr.ok("run", "-d", "--name", "idle", "--network", "none", "-m", "64m", "busybox", "sh",
           "-c", "sleep 300 & sleep 300 & wait")
    ctr.ok("create", "--name", "stopped", "busybox", "true")
    ctr.wait_for(lambda: "3" in ctr.ok("stats", "--no-stream", "--format", "{{.PIDs}}",
                                       "idle"), what="the sleeps to start")
    lines = ctr.ok("stats", "--no-stream").splitlines()
    assert HEADER.match(lines[0]), lines[0]
    rows = {line.split()[1]: line for line in lines[1:]}
    assert sorted(rows) == ["busy", "idle"]  # running ones only
    busy = ctr.inspect("busy")["Id"]
    assert rows["busy"].startswith(busy[:12] + " ")
    fields = json.loads(ctr.ok("stats", "--no-stream", "--format", "json", "busy", "idle")
                        .splitlines()[0])
    assert _percent(fields["CPUPerc"]) > 20.0, fields
    idle = json.loads(ctr.ok("stats", "--no-stream", "--format", "json", "idle"))
    usage, limit = idle["MemUsage"].split(" / ")
    assert limit == "64MiB" and 0 < _bytes(usage) < 64 * 1024 ** 2
    assert 0 < _percent(idle["MemPerc"]) < 100
    assert idle["PIDs"] == "3" and _percent(idle["CPUPerc"]) < 5
    assert re.fullmatch(f"{SIZE} / {SIZE}", idle["BlockIO"])
    every = ctr.ok("stats", "--no-stream", "-a", "--format", "{{.Name}} {{.CPUPerc}} "
                   "{{.MemUsage}} {{.PIDs}}").splitlines()
    assert "stopped 0.00% 0B / 0B 0" in every and len(every) == 3


def test_network_io_counts_the_container_namespace(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "talker", "busybox", "sh", "-c",
           "gw=$(ip route | awk '/default/ {print $3}'); "
           "ping -c 3 -s 50000 $gw >/dev/null; sleep 60")

    def sent() -> float:
        net = ctr.ok("stats", "--no-stream", "--format", "{{.NetIO}}", "talker").strip()
        return _bytes(net.split(" / ")[1])

    assert ctr.wait_for(lambda: sent() >= 140_000, what="the bytes sent to show")


def test_format_fields_and_no_trunc(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "web", "--network", "none", "busybox", "sleep", "60")
    cid = ctr.inspect("web")["Id"]
    out = ctr.ok("stats", "--no-stream", "--no-trunc", "--format",
                 "{{.Container}}|{{.ID}}|{{.Name}}", "web")
    assert out == f"web|{cid}|web\n"
    out = ctr.ok("stats", "--no-stream", "--format", "table {{.Name}}\t{{.PIDs}}", "web")
    assert out.splitlines()[0].split() == ["NAME", "PIDS"]


def test_streaming_redraws_every_second_until_interrupted(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "web", "--network", "none", "busybox", "sleep", "60")
    proc = subprocess.Popen([sys.executable, "-m", "hull", "stats", "web"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ctr.env())
    time.sleep(3.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    frames = out.decode().split("\033[2J\033[H")
    assert len([f for f in frames if f]) >= 2, out
    assert all(HEADER.match(f.splitlines()[0]) for f in frames if f)
    assert b"Traceback" not in err


@pytest.mark.parametrize("args, message", [
    (["--no-stream", "nope"], "No such container: nope"),
    (["--no-stream", "--format", "{{.Bogus"], "template"),
])
def test_bad_input_gives_one_line_errors(ctr: Ctr, args: list[str], message: str) -> None:
    ctr.ok("create", "--name", "c1", "busybox", "true")
    out = ctr.run("stats", *args)
    assert out.returncode != 0
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert os.path.isdir(ctr.root)
