#!/usr/bin/env python3
"""Write the ``hull`` entry point of a virtualenv: the interpreter without the site module.

pip's console script starts the interpreter normally, and the ``site`` module then reads the
virtualenv's configuration and every ``.pth`` file before hull's code runs: about 5 ms of
each command, a noticeable share of ``hull exec`` or ``hull run --rm``.  This launcher runs
``python -S`` and puts exactly two directories on ``sys.path`` itself: the source tree and
the virtualenv's site-packages.

Usage: install_launcher.py VENV SOURCE_TREE
"""

from __future__ import annotations

import os
import subprocess
import sys

TEMPLATE = """#!{python} -S
import sys
sys.path[:0] = [{source!r}, {site_packages!r}]
from hull.cli.main import main
sys.exit(main())
"""


def main() -> None:
    venv, source = (os.path.abspath(a) for a in sys.argv[1:3])
    python = os.path.join(venv, "bin", "python")
    site_packages = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True).stdout.strip()
    target = os.path.join(venv, "bin", "hull")
    tmp = target + ".tmp"
    with open(tmp, "w") as f:
        f.write(TEMPLATE.format(python=python, source=source, site_packages=site_packages))
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)


if __name__ == "__main__":
    main()
