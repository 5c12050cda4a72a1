"""Which running containers use a volume that has a filesystem mounted on ``_data``.

Docker's local driver mounts such a volume when the first container using it starts and
unmounts it when the last one stops.  hull has no daemon to hold the count, so the count is
files: ``<run_root>/volumes/<name>/users/<container-id>``, changed under one lock.  It lives
in run_root because the mounts do not survive a reboot either; after one, both are gone.
Stopping is seen from the shim or from crash repair, which know only the container's
paths, so :func:`release_container` needs nothing but those.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator


def _base(run_root: str) -> str:
    return os.path.join(run_root, "volumes")


@contextlib.contextmanager
def _locked(run_root: str) -> Iterator[None]:
    os.makedirs(_base(run_root), mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(_base(run_root), ".lock"), os.O_CREAT | os.O_RDWR | os.O_CLOEXEC,
                 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def acquire(root: str, run_root: str, name: str, options: dict[str, str],
            container_id: str) -> None:
    """Count ``container_id`` as a user; mount the filesystem if it is the first."""
    from hull.snapshot.mount import mounted
    from hull.volume.localdriver import mount_filesystem
    from hull.volume.model import data_dir

    with _locked(run_root):
        users = os.path.join(_base(run_root), name, "users")
        os.makedirs(users, mode=0o700, exist_ok=True)
        with open(os.path.join(_base(run_root), name, "mountpoint"), "w") as f:
            f.write(data_dir(root, name))
        if not mounted(data_dir(root, name)):
            try:
                mount_filesystem(root, name, options)
            except BaseException:
                if not os.listdir(users):
                    _forget(_base(run_root), name)
                raise
        open(os.path.join(users, container_id), "w").close()


def release_container(run_root: str, container_id: str) -> None:
    """The container stopped: drop it as a user everywhere; unmount what nobody uses."""
    base = _base(run_root)
    if not os.path.isdir(base):
        return
    names = [n for n in os.listdir(base)
             if os.path.exists(os.path.join(base, n, "users", container_id))]
    if not names:
        return
    with _locked(run_root):
        for name in names:
            _release(base, name, container_id)


def _release(base: str, name: str, container_id: str) -> None:
    from hull.errors import HullError
    from hull.snapshot.mount import mounted, unmount_all

    users = os.path.join(base, name, "users")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(users, container_id))
    if os.listdir(users):
        return
    try:
        with open(os.path.join(base, name, "mountpoint")) as f:
            target = f.read().strip()
    except FileNotFoundError:
        target = ""
    if target and os.path.isdir(target) and mounted(target):
        with contextlib.suppress(HullError, OSError):
            unmount_all(target, detach=True)
    _forget(base, name)


def _forget(base: str, name: str) -> None:
    from hull.snapshot.fsutil import remove_tree

    with contextlib.suppress(OSError):
        remove_tree(os.path.join(base, name))
