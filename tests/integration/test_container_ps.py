"""``hull ps`` flags and filters, ``hull info`` counts, and a container on a terminal (-t)."""

from __future__ import annotations

import os
import re
import sys

import pytest

from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr

ctr = support.ctr
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


@pytest.fixture
def three(ctr: Ctr) -> dict[str, str]:
    """exited (code 3, label tier=db), running (label tier=web), created."""
    assert ctr.run("run", "--name", "first", "-l", "tier=db", "busybox", "sh", "-c",
                   "exit 3").returncode == 3
    return {
        "first": ctr.inspect("first")["Id"],
        "second": ctr.ok("run", "-d", "--name", "second", "-l", "tier=web", "busybox", "sleep",
                         "300").strip(),
        "third": ctr.ok("create", "--name", "third", "busybox", "echo",
                        "a rather long command line that gets cut").strip(),
    }


def _names(ctr: Ctr, *args: str) -> list[str]:
    return ctr.ok("ps", *args, "--format", "{{.Names}}").split()


def test_default_all_quiet_last_latest_and_no_trunc(ctr: Ctr, three: dict[str, str]) -> None:
    assert _names(ctr) == ["second"]
    assert _names(ctr, "-a") == ["third", "second", "first"]  # newest first
    assert ctr.ok("ps", "-aq").split() == [three[n][:12] for n in ("third", "second", "first")]
    assert ctr.ok("ps", "-aq", "--no-trunc").split()[0] == three["third"]
    assert _names(ctr, "-n", "2") == ["third", "second"]
    assert _names(ctr, "-l") == ["third"]
    table = ctr.ok("ps", "-a").splitlines()
    third = next(line for line in table if line.endswith("third"))
    assert '"echo a rather long …"' in third
    full = ctr.ok("ps", "-a", "--no-trunc", "--filter", "name=third").splitlines()[1]
    assert '"echo a rather long command line that gets cut"' in full and three["third"] in full


def test_filters(ctr: Ctr, three: dict[str, str]) -> None:
    assert _names(ctr, "-a", "--filter", "status=exited") == ["first"]
    assert _names(ctr, "--filter", "status=created") == ["third"]
    assert _names(ctr, "-a", "--filter", "exited=3") == ["first"]
    assert _names(ctr, "-a", "--filter", "exited=0") == []
    assert _names(ctr, "-a", "--filter", "label=tier") == ["second", "first"]
    assert _names(ctr, "-a", "--filter", "label=tier=web") == ["second"]
    assert _names(ctr, "-a", "--filter", f"id={three['second'][:6]}") == ["second"]
    assert _names(ctr, "-a", "--filter", "name=ir") == ["third", "first"]
    assert _names(ctr, "-a", "--filter", "ancestor=busybox") == ["third", "second", "first"]
    assert _names(ctr, "-a", "--filter", "before=second") == ["first"]
    assert _names(ctr, "-a", "--filter", "since=second") == ["third"]
    assert _names(ctr, "-a", "-f", "status=exited", "-f", "status=running") == \
        ["second", "first"]
    bad = ctr.run("ps", "--filter", "color=blue")
    assert bad.returncode != 0 and "invalid filter 'color'" in bad.stderr
    bad = ctr.run("ps", "--filter", "status=sleeping")
    assert bad.returncode != 0 and "status=sleeping" in bad.stderr


def test_walkthrough_format_and_sizes(ctr: Ctr, three: dict[str, str]) -> None:
    out = ctr.ok("ps", "-a", "--format", "table {{.Names}}\t{{.Image}}\t{{.Ports}}\t{{.Status}}")
    lines = out.splitlines()
    assert re.match(r"NAMES\s+IMAGE\s+PORTS\s+STATUS$", lines[0])
    assert re.match(r"third\s+busybox\s+Created$", lines[1])
    assert re.match(r"second\s+busybox\s+Up (Less than a second|\d+ seconds?)$", lines[2])
    assert re.match(r"first\s+busybox\s+Exited \(3\) .* ago$", lines[3])
    sized = ctr.ok("ps", "-a", "-s").splitlines()
    assert sized[0].split()[-1] == "SIZE"
    assert re.search(r"\S+B \(virtual \S+B\)$", sized[1])
    labels = ctr.ok("ps", "--format", "{{.Labels}}|{{.State}}|{{.ID}}")
    assert labels == f"tier=web|running|{three['second'][:12]}\n"


def test_info_counts_containers_by_state(ctr: Ctr, three: dict[str, str]) -> None:
    ctr.ok("run", "-d", "--name", "napping", "busybox", "sleep", "300")
    ctr.ok("pause", "napping")
    out = ctr.ok("info", "--format",
                 "{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}}"
                 " {{.ContainersStopped}}")
    assert out.split() == ["4", "1", "1", "2"]
    ctr.ok("unpause", "napping")


def test_tty_run_is_interactive(ctr: Ctr) -> None:
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(sys.executable, ["-m", "hull", "run", "-it", "--rm", "busybox", "sh"],
                          env=ctr.env(), timeout=30, encoding="utf-8")
    try:
        child.expect(r"[#$] ")
        child.sendline("tty; echo $TERM; exit 7")
        child.expect(r"/dev/pts/\d+")
        child.expect("xterm")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 7
    assert ctr.all_ids() == []
