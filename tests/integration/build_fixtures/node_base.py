"""Stand-in base images for the Node.js walkthroughs: busybox plus the host's Node.js and npm.

No registry is reachable, so ``node:18-alpine`` and ``node:18`` are made here: the busybox
root filesystem, the host's ``node`` binary with the libraries it links (found with ldd),
npm's own directory, and a tiny local package at /opt/greet that the multi-stage app
depends on (so ``npm ci`` has something to install without a network).  The image
environment turns npm's network features off.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

NODE = "/usr/bin/node"
NPM_DIR = "/usr/lib/node_modules/npm"
NPM_ENV = ["NPM_CONFIG_AUDIT=false", "NPM_CONFIG_FUND=false", "NPM_CONFIG_UPDATE_NOTIFIER=false",
           "NPM_CONFIG_OFFLINE=true", "NPM_CONFIG_INSTALL_LINKS=true",
           "NPM_CONFIG_LOGLEVEL=warn"]
GREET_PACKAGE = b'{"name": "greet", "version": "1.0.0", "main": "index.js"}\n'
GREET_INDEX = b"module.exports = (name) => `hello ${name}`;\n"


def unavailable() -> str | None:
    """Why the stand-in cannot be made on this host, or None."""
    if not os.path.exists(NODE) or not os.path.isdir(NPM_DIR):
        return "Node.js and npm are not installed on the host (apt-get install nodejs npm)"
    if shutil.which("ldd") is None:
        return "ldd is not available to find Node.js's libraries"
    return None


def _libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    paths = []
    for line in out.splitlines():
        parts = line.split()
        if "=>" in parts:
            target = parts[parts.index("=>") + 1]
            if target.startswith("/"):
                paths.append(target)
        elif parts and parts[0].startswith("/"):
            paths.append(parts[0])
    return paths


def write_node_rootfs(busybox_tar: Path, out: Path) -> None:
    """busybox + node + npm + /opt/greet as one root filesystem tar."""
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        with tarfile.open(busybox_tar) as base:
            for member in base.getmembers():
                data = base.extractfile(member) if member.isfile() else None
                tar.addfile(member, data)
        made: set[str] = set()

        def parents(path: str) -> None:
            parts = path.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                name = "/".join(parts[:i])
                if name not in made:
                    made.add(name)
                    info = tarfile.TarInfo(name)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)

        def add_host_file(host: str, inside: str) -> None:
            parents(inside)
            info = tar.gettarinfo(os.path.realpath(host), inside.lstrip("/"))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            with open(host, "rb") as f:
                tar.addfile(info, f)

        def add_bytes(inside: str, data: bytes, mode: int = 0o644) -> None:
            parents(inside)
            info = tarfile.TarInfo(inside.lstrip("/"))
            info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data))

        add_host_file(NODE, "/usr/local/bin/node")
        for lib in _libraries(NODE):
            add_host_file(lib, lib)
        for directory, _, files in os.walk(NPM_DIR):
            rel = os.path.relpath(directory, NPM_DIR)
            for name in sorted(files):
                host = os.path.join(directory, name)
                inside = os.path.normpath(f"/usr/local/lib/node_modules/npm/{rel}/{name}")
                if os.path.islink(host) and not os.path.exists(host):
                    continue
                add_host_file(host, inside)
        parents("/usr/local/bin/npm")
        link = tarfile.TarInfo("usr/local/bin/npm")
        link.type = tarfile.SYMTYPE
        link.linkname = "../lib/node_modules/npm/bin/npm-cli.js"
        tar.addfile(link)
        add_bytes("/opt/greet/package.json", GREET_PACKAGE)
        add_bytes("/opt/greet/index.js", GREET_INDEX)


def import_args(tar: Path, tag: str, workdir: str | None = None) -> list[str]:
    """``hull import`` arguments making ``tag`` from the stand-in tar, like the real image."""
    changes = ["-c", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    for item in NPM_ENV:
        changes += ["-c", f"ENV {item}"]
    changes += ["-c", 'CMD ["node"]']
    if workdir:
        changes += ["-c", f"WORKDIR {workdir}"]
    return ["import", *changes, str(tar), tag]
