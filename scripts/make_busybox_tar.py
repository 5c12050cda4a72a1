#!/usr/bin/env python3
"""Write a busybox root filesystem as a tar, made from Debian's busybox-static.

The result is a small, complete base image: /bin/busybox with every applet
linked to it, /etc/passwd and /etc/group with root and nobody, and the usual
empty directories.  Usage: make_busybox_tar.py OUT.tar (``-`` for stdout).
The output is deterministic: the same busybox binary gives the same bytes.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile

BUSYBOX = "/bin/busybox"
MTIME = 1_700_000_000

PASSWD = b"""root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = b"""root:x:0:
daemon:x:1:
bin:x:2:
www-data:x:33:
nogroup:x:65534:
"""
DIRS = ["bin", "dev", "etc", "home", "proc", "root", "sys", "tmp", "usr", "usr/bin", "usr/sbin",
        "sbin", "var", "var/www", "var/log"]


def applets(busybox: str) -> list[str]:
    """The install paths busybox knows for its applets (e.g. /bin/sh, /usr/bin/wget)."""
    out = subprocess.run([busybox, "--list-full"], check=True, capture_output=True, text=True)
    return sorted(line.strip() for line in out.stdout.splitlines() if line.strip())


def write(out: io.BufferedIOBase, busybox: str = BUSYBOX) -> None:
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        def add_dir(name: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = mode
            info.mtime = MTIME
            tar.addfile(info)

        def add_file(name: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = MTIME
            tar.addfile(info, io.BytesIO(data))

        for d in DIRS:
            add_dir(d, 0o1777 if d == "tmp" else 0o700 if d == "root" else 0o755)
        with open(busybox, "rb") as f:
            add_file("bin/busybox", f.read(), 0o755)
        add_file("etc/passwd", PASSWD)
        add_file("etc/group", GROUP)
        add_file("etc/hostname", b"busybox\n")
        seen = {"bin/busybox"}
        for path in applets(busybox):
            name = path.lstrip("/")
            if name in seen or os.path.dirname(name) not in DIRS:
                continue
            seen.add(name)
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = "/bin/busybox"
            info.mode = 0o777
            info.mtime = MTIME
            tar.addfile(info)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: make_busybox_tar.py OUT.tar|-")
    if sys.argv[1] == "-":
        write(sys.stdout.buffer)
    else:
        with open(sys.argv[1], "wb") as f:
            write(f)


if __name__ == "__main__":
    main()
