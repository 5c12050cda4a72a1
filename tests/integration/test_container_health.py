"""Health checks run by the shim: --health-* flags, the image's HEALTHCHECK, State.Health and
the ps status column."""

from __future__ import annotations

import os
import re

import pytest

from tests.integration import test_container_support as support
from tests.integration.test_container_support import Ctr

ctr = support.ctr
_remove_hull_parent_cgroups = support._remove_hull_parent_cgroups
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containers need root")


def _status(ctr: Ctr, name: str) -> str:
    return ctr.ok("ps", "--filter", f"name={name}", "--format", "{{.Status}}").strip()


def test_unhealthy_then_healthy_with_log_and_ps(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "probe", "--health-cmd", "cat /tmp/ready",
           "--health-interval", "200ms", "--health-retries", "2", "busybox", "sleep", "300")
    assert ctr.state("probe")["Health"]["Status"] == "starting"
    assert re.fullmatch(r"Up .* \(health: starting\)", _status(ctr, "probe"))
    ctr.wait_for(lambda: ctr.state("probe")["Health"]["Status"] == "unhealthy",
                 what="unhealthy")
    health = ctr.state("probe")["Health"]
    assert health["FailingStreak"] >= 2
    assert health["Log"][-1]["ExitCode"] == 1
    assert "No such file" in health["Log"][-1]["Output"]
    assert re.fullmatch(r"Up .* \(unhealthy\)", _status(ctr, "probe"))
    ctr.ok("exec", "probe", "sh", "-c", "echo ready-now > /tmp/ready")
    ctr.wait_for(lambda: ctr.state("probe")["Health"]["Status"] == "healthy", what="healthy")
    health = ctr.state("probe")["Health"]
    assert health["FailingStreak"] == 0 and health["Log"][-1]["Output"] == "ready-now\n"
    ctr.wait_for(lambda: len(ctr.state("probe")["Health"]["Log"]) == 5, what="five results")
    assert re.fullmatch(r"Up .* \(healthy\)", _status(ctr, "probe"))
    config = ctr.inspect("probe")["Config"]["Healthcheck"]
    assert config == {"Test": ["CMD-SHELL", "cat /tmp/ready"], "Interval": 200_000_000,
                      "Retries": 2}


def test_a_check_that_hangs_times_out(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "hang", "--health-cmd", "sleep 10", "--health-interval",
           "300ms", "--health-timeout", "200ms", "--health-retries", "1", "busybox",
           "sleep", "300")
    ctr.wait_for(lambda: ctr.state("hang")["Health"]["Status"] == "unhealthy",
                 what="unhealthy")
    last = ctr.state("hang")["Health"]["Log"][-1]
    assert last["ExitCode"] == -1 and "exceeded timeout" in last["Output"]


def test_image_healthcheck_and_no_healthcheck(ctr: Ctr, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nHEALTHCHECK --interval=200ms --retries=1 CMD true\n")
    ctr.ok("build", "-q", "-t", "checked", str(tmp_path))
    ctr.ok("run", "-d", "--name", "img", "checked", "sleep", "300")
    ctr.wait_for(lambda: ctr.state("img")["Health"]["Status"] == "healthy", what="healthy")
    assert ctr.inspect("img")["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "true"]
    ctr.ok("run", "-d", "--name", "off", "--no-healthcheck", "checked", "sleep", "300")
    assert "Health" not in ctr.state("off")
    assert _status(ctr, "off").startswith("Up") and "health" not in _status(ctr, "off")


def test_health_flag_errors(ctr: Ctr) -> None:
    out = ctr.run("run", "--health-interval", "soon", "busybox", "true")
    assert out.returncode == 125 and "--health-interval" in out.stderr
    out = ctr.run("run", "--no-healthcheck", "--health-cmd", "true", "busybox", "true")
    assert out.returncode == 125 and "conflicts" in out.stderr


def test_failures_in_the_start_period_do_not_count(ctr: Ctr) -> None:
    ctr.ok("run", "-d", "--name", "warming", "--health-cmd", "false", "--health-interval",
           "200ms", "--health-retries", "1", "--health-start-period", "30s", "busybox",
           "sleep", "300")
    ctr.wait_for(lambda: len(ctr.state("warming")["Health"]["Log"]) >= 3, what="three checks")
    health = ctr.state("warming")["Health"]
    assert health["Status"] == "starting" and health["FailingStreak"] == 0
    assert all(result["ExitCode"] == 1 for result in health["Log"])
