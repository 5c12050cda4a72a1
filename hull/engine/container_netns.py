"""A container's network namespace, made before its runtime runs.

The namespace is kept alive by bind-mounting its nsfs file on ``<run_root>/netns/<id>``;
the runtime spec then *joins* that path instead of creating a namespace, so a later network
driver can plug a veth into it before or after the container starts.  Everything is done
with syscalls from the calling process (unshare, mount, an ioctl for loopback, setns back):
no ``ip`` binary, no extra process.
"""

from __future__ import annotations

import contextlib
import os

from hull.errors import EngineError

SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def netns_path(run_root: str, container_id: str) -> str:
    return os.path.join(run_root, "netns", container_id)


def create_netns(path: str) -> None:
    """Create a network namespace with loopback up, pinned at ``path``."""
    from hull.runtime import syscalls as sc

    os.makedirs(os.path.dirname(path), mode=0o711, exist_ok=True)
    if os.path.exists(path):
        remove_netns(path)
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDONLY | os.O_CLOEXEC, 0o444))
    own = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        sc.unshare(sc.CLONE_NEWNET)
        try:
            sc.mount("/proc/self/ns/net", path, None, sc.MS_BIND)
            _loopback_up()
        finally:
            sc.setns(own, sc.CLONE_NEWNET)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise EngineError(f"cannot create network namespace {path}: {e.strerror or e}") from None
    finally:
        os.close(own)


def _loopback_up() -> None:
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def remove_netns(path: str) -> None:
    """Unpin and delete the namespace file; a missing one is fine."""
    from hull.runtime import syscalls as sc

    with contextlib.suppress(OSError):
        sc.umount2(path, sc.MNT_DETACH)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
