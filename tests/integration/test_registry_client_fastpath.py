"""``fast_push`` / ``fast_pull``: the click-free ``hull push`` and ``hull pull`` give the same
output and results as the click commands, and hand anything unusual back to click."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hull.cli.commands import distribution
from tests.conftest import HullEnv
from tests.integration.test_registry_client_support import layers_image
from tests.integration.test_registry_server_support import RegistryProcess, running_registry

# The entry point with push and pull routed to the fast paths (as ``FAST_PATHS`` would);
# at exit it says whether click was imported.
ENTRY = ("import atexit, sys; import hull.cli.main as m;"
         " m.FAST_PATHS.update(push='hull.cli.commands.distribution:fast_push',"
         " pull='hull.cli.commands.distribution:fast_pull');"
         " atexit.register(lambda: sys.stderr.write('click loaded' if 'click' in sys.modules"
         " else ''));"
         " m.main(sys.argv[1:])")


def fast(env: HullEnv, *args: str) -> subprocess.CompletedProcess[str]:
    """``hull ARGS`` through the entry point with the fast paths, in a process of its own."""
    return subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True, text=True,
                          env=env.env(), timeout=120)


def test_fast_push_and_pull_match_the_click_commands(hull: HullEnv, tmp_path: Path,
                                                     registry: RegistryProcess) -> None:
    ref = f"{registry.address}/team/fast:v1"
    hull.ok("load", "-i", str(layers_image(tmp_path, 3, ref)))
    image_id = hull.ok("images", "-q", "--no-trunc", ref).strip()
    pushed = fast(hull, "push", ref)
    assert pushed.returncode == 0 and pushed.stderr == "", pushed.stderr
    lines = pushed.stdout.splitlines()
    assert lines[0] == f"The push refers to repository [{registry.address}/team/fast]"
    assert sum(line.endswith(": Pushed") for line in lines) == 3
    digest = lines[-1].split()[2]
    # the click command pushing the same image elsewhere reports the same digest
    with running_registry(tmp_path / "other") as other:
        other_ref = f"{other.address}/team/fast:v1"
        hull.ok("tag", ref, other_ref)
        assert hull.ok("push", other_ref).splitlines()[-1].split()[2] == digest

    fresh = HullEnv(root=tmp_path / "fresh-root", run_root=tmp_path / "fresh-run")
    pulled = fast(fresh, "pull", ref)
    assert pulled.returncode == 0 and pulled.stderr == "", pulled.stderr
    lines = pulled.stdout.splitlines()
    assert lines[0] == "v1: Pulling from team/fast"
    assert sum(line.endswith(": Pull complete") for line in lines) == 3
    assert f"Digest: {digest}" in lines
    assert f"Status: Downloaded newer image for {ref}" in lines
    assert lines[-1] == ref
    assert fresh.ok("images", "-q", "--no-trunc").strip() == image_id
    quiet = fast(fresh, "pull", "-q", ref)
    assert quiet.returncode == 0 and quiet.stdout == f"{ref}\n"
    # a command line the fast path leaves alone still works, through click
    interspersed = fast(fresh, "pull", ref, "-q")
    assert interspersed.returncode == 0 and interspersed.stdout == f"{ref}\n"
    assert "click loaded" in interspersed.stderr


def test_unusual_command_lines_are_left_to_click() -> None:
    assert distribution.fast_push(["--help"]) is None
    assert distribution.fast_pull(["name", "-q"]) is None  # a flag after the name
    assert distribution.fast_pull([]) is None
    assert distribution.fast_push(["--no-such-flag", "name"]) is None


def test_fast_pull_errors_are_the_usual_one_line(hull: HullEnv) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = fast(hull, "pull", f"127.0.0.1:{port}/x:v1")
    assert proc.returncode != 0
    assert proc.stderr.startswith("Error: ") and proc.stderr.count("\n") == 1
    assert "connection refused" in proc.stderr and "Traceback" not in proc.stderr
    assert "click loaded" not in proc.stderr
