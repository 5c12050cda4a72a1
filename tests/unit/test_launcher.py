"""The installed ``hull`` entry point runs hull without the site module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_launcher_runs_hull_without_site(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    os.symlink(sys.executable, venv / "bin" / "python")
    subprocess.run([sys.executable, str(REPO / "scripts" / "install_launcher.py"), str(venv),
                    str(REPO)], check=True)
    launcher = venv / "bin" / "hull"
    assert launcher.read_text().splitlines()[0].endswith("/bin/python -S")
    out = subprocess.run([str(launcher), "--version"], capture_output=True, text=True,
                         check=True)
    assert out.stdout.startswith("hull version ")
    probe = subprocess.run([str(launcher), "no-such-command"], capture_output=True, text=True)
    assert probe.returncode != 0 and "is not a hull command" in probe.stderr
