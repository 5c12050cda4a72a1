"""Terminals through a real pty: ``run -it`` prompt, typing, Ctrl-C, window size and its
changes, detach keys, re-attach, ``exec -it`` and ``-i`` without a terminal."""

from __future__ import annotations

import os
import sys
import time

import pytest

from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr

pexpect = pytest.importorskip("pexpect")
ctr = support.ctr
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def spawn(ctr: Ctr, *args: str, rows: int = 24, cols: int = 80):  # type: ignore[no-untyped-def]
    child = pexpect.spawn(sys.executable, ["-m", "hull", *args], env=ctr.env(),
                          dimensions=(rows, cols), timeout=20)
    return child


def test_run_it_shell_prompt_typing_size_and_exit_code(ctr: Ctr) -> None:
    child = spawn(ctr, "run", "-it", "--name", "term", "busybox", "sh", rows=33, cols=101)
    child.expect(r"# ")
    child.sendline("stty size; tty")
    child.expect(r"33 101")
    child.expect(r"/dev/pts/\d+")
    child.setwinsize(40, 120)  # SIGWINCH reaches the CLI, which resizes the container's pty
    time.sleep(0.3)
    child.sendline("stty size")
    child.expect(r"40 120")
    child.sendline("sleep 30")
    time.sleep(0.3)
    child.sendintr()  # Ctrl-C goes through the pty to the container's foreground process
    child.expect(r"# ")
    child.sendline("echo $((6*7)); exit 5")
    child.expect("42")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 5
    assert ctr.state("term")["ExitCode"] == 5


def test_detach_keys_and_reattach(ctr: Ctr) -> None:
    child = spawn(ctr, "run", "-it", "--name", "det", "busybox", "sh")
    child.expect(r"# ")
    child.sendline("echo before-detach")
    child.expect("before-detach")
    child.send("\x10\x11")  # Ctrl-P Ctrl-Q
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert ctr.state("det")["Running"]
    again = spawn(ctr, "attach", "--detach-keys", "ctrl-x,x", "det")
    again.sendline("echo again-$((1+1))")
    again.expect("again-2")
    again.send("\x18x")
    again.expect(pexpect.EOF)
    again.close()
    assert again.exitstatus == 0 and ctr.state("det")["Running"]
    last = spawn(ctr, "attach", "det")
    last.sendline("exit 3")
    last.expect(pexpect.EOF)
    last.close()
    assert last.exitstatus == 3
    assert ctr.state("det")["Status"] == "exited"


def test_two_attachers_see_the_same_output(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "ticker", "busybox", "sh", "-c",
           "sleep 1; i=0; while [ $i -lt 3 ]; do echo tick-$i; i=$((i+1)); sleep 0.2; done")
    first = spawn(ctr, "attach", "--no-stdin", "ticker")
    second = spawn(ctr, "attach", "--no-stdin", "ticker")
    for child in (first, second):
        child.expect("tick-2")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0


def test_attach_to_a_stopped_container_is_refused(ctr: Ctr) -> None:
    ctr.ok("create", "--name", "idle", "busybox", "true")
    out = ctr.run("attach", "idle")
    assert out.returncode == 1
    assert "You cannot attach to a stopped container, start it first" in out.stderr


def test_start_ai_is_interactive(ctr: Ctr) -> None:
    ctr.ok("create", "-it", "--name", "later", "busybox", "sh")
    child = spawn(ctr, "start", "-ai", "later")
    child.expect(r"# ")
    child.sendline("echo started-$((2+2)); exit 4")
    child.expect("started-4")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 4


def test_exec_it_sees_only_the_containers_processes(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "web", "busybox", "sleep", "300")
    child = spawn(ctr, "exec", "-it", "web", "sh", rows=21, cols=77)
    child.expect(r"# ")
    child.sendline("stty size; ps -o pid,args")
    child.expect("21 77")
    child.expect(r"# ")
    listing = child.before.decode()
    rows = [line.split(None, 1) for line in listing.splitlines() if line.strip()[:1].isdigit()]
    assert rows[0] == ["1", "sleep 300"]
    assert len(rows) == 3  # the container's init, this shell and ps: no host processes
    child.sendline("exit 7")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 7
    assert ctr.state("web")["Running"]


def test_interactive_without_terminal_keeps_streams_apart(ctr: Ctr) -> None:
    out = ctr.run("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo to-err >&2",
                  input="hi\nthere\n")
    assert out.returncode == 0
    assert out.stdout == "hi\nthere\n" and out.stderr == "to-err\n"
