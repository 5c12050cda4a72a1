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


def test_version_command_and_format(hull: HullEnv) -> None:
    out = hull.ok("version")
    assert "Client:" in out and "Server:" in out
    assert hull.ok("version", "--format", "{{.Client.Version}}").strip() == (
        hull.ok("--version").split()[-1])


def test_info_reports_root_and_snapshotter(hull: HullEnv) -> None:
    out = hull.ok("info")
    assert f"Hull Root Dir: {hull.root}" in out
    assert "Storage Driver: overlay" in out or "Storage Driver: native" in out
    assert " Images: 0" in out
    proc = hull.run("--snapshotter", "native", "info")
    # A root keeps the backend it was created with.
    assert (proc.returncode == 0) == ("Storage Driver: native" in out)


def test_bad_template_is_a_one_line_error(hull: HullEnv) -> None:
    proc = hull.run("version", "--format", "{{.Client.Nope")
    assert proc.returncode != 0
    assert "template" in proc.stderr and "Traceback" not in proc.stderr
