"""A container's root filesystem on the host, for commands that read or write its files.

``diff``, ``commit``, ``cp`` and ``export`` work on running and stopped containers alike.
A running container's merged tree is already mounted at its bundle's ``rootfs``; a stopped
one's writable snapshot is mounted on a private directory for the length of the command,
under the container's start lock so that ``start`` cannot mount the same upper directory
at the same time.  A running container can be frozen meanwhile, so that its processes
cannot swap a directory for a symlink between the moment a path is checked and used.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from hull.errors import Conflict, EngineError, HullError

if TYPE_CHECKING:
    from hull.engine import Engine
    from hull.engine.container_model import Container


@contextlib.contextmanager
def start_lock(engine: Engine, c: Container) -> Iterator[None]:
    """Hold the lock ``start`` takes, so the container does not start meanwhile."""
    import fcntl

    lock_path = engine.containers.paths(c.id).lock
    os.makedirs(os.path.dirname(lock_path), mode=0o711, exist_ok=True)
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def frozen(engine: Engine, c: Container, pause: bool) -> Iterator[None]:
    """Freeze a running container's processes for the block (when ``pause`` is set and the
    container is running and not paused already); thaw them afterwards whatever happens."""
    service = engine.containers
    if not (pause and c.running and not c.state.get("Paused")):
        yield
        return
    runtime = service.runtime(c)
    try:
        runtime.pause(c.id)
    except HullError as e:
        raise Conflict(f"cannot pause container {c.short_id}: {e}") from None
    try:
        yield
    finally:
        with contextlib.suppress(HullError):
            runtime.resume(c.id)


@contextlib.contextmanager
def mounted_rootfs(engine: Engine, c: Container) -> Iterator[str]:
    """The host path of the container's merged root filesystem for the block."""
    import tempfile

    from hull.snapshot.mount import mount_all, mounted, unmount

    service = engine.containers
    paths = service.paths(c.id)
    with start_lock(engine, c):
        current = service.store.get(c.id)
        if current.running and mounted(paths.rootfs):
            yield paths.rootfs
            return
        snap = engine.snapshotter
        if snap.stat(c.snapshot_key) is None:
            raise EngineError(f"container {c.id} has lost its writable layer; remove it")
        scratch = os.path.join(engine.run_root, "containers")
        os.makedirs(scratch, mode=0o711, exist_ok=True)
        target = tempfile.mkdtemp(prefix=f"{c.id[:12]}-files-", dir=scratch)
        try:
            mount_all(snap.mounts(c.snapshot_key), target)
            try:
                yield target
            finally:
                unmount(target)
        finally:
            with contextlib.suppress(OSError):
                os.rmdir(target)
