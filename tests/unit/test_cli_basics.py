"""The CLI's own behaviour: version, unknown commands and flags, exit codes."""

from __future__ import annotations

from tests.conftest import HullEnv


def test_version_flag(hull: HullEnv) -> None:
    out = hull.ok("--version")
    assert out.startswith("hull version ")


def test_unknown_command_exits_125_with_one_line(hull: HullEnv) -> None:
    proc = hull.run("frobnicate")
    assert proc.returncode == 125
    assert "'frobnicate' is not a hull command" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_flag_exits_125(hull: HullEnv) -> None:
    proc = hull.run("version", "--bogus")
    assert proc.returncode == 125
    assert "unknown flag: --bogus" in proc.stderr
