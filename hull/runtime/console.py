"""Pseudo-terminals for ``process.terminal``: open one in the container's devpts and hand the
master to whoever listens on the console socket, as runc does (SCM_RIGHTS)."""

from __future__ import annotations

import fcntl
import os
import struct

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    import socket

TIOCSPTLCK = 0x40045431
TIOCGPTN = 0x80045430
TIOCSCTTY = 0x540E
TIOCSWINSZ = 0x5414


def connect(path: str) -> socket.socket:
    """Connect early: the socket lives on the host, out of reach after pivot_root."""
    import socket  # only terminals need it; still importable here, before pivot_root

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    return sock


def open_pty(pts_dir: str, size: dict | None = None) -> tuple[int, int, str]:
    """(master fd, slave fd, slave path) from ``pts_dir``/ptmx; the slave path is in-container."""
    master = os.open(os.path.join(pts_dir, "ptmx"), os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, TIOCSPTLCK, struct.pack("i", 0))
    number = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, struct.pack("I", 0)))[0]
    slave = os.open(os.path.join(pts_dir, str(number)), os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    if size and size.get("height") and size.get("width"):
        fcntl.ioctl(slave, TIOCSWINSZ, struct.pack("HHHH", size["height"], size["width"], 0, 0))
    return master, slave, f"/dev/pts/{number}"


def send_master(sock: socket.socket, master: int, name: str) -> None:
    import socket

    socket.send_fds(sock, [name.encode()], [master])
    sock.close()
    os.close(master)


def become_controlling(slave: int) -> None:
    """Make the pty slave this session's controlling terminal and the process's stdio."""
    for target in (0, 1, 2):
        os.dup2(slave, target)
    if slave > 2:
        os.close(slave)
    fcntl.ioctl(0, TIOCSCTTY, 0)
