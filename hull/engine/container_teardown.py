"""Releasing what a started container holds on the host: runtime state and cgroup, rootfs
mount, network namespace, bundle directory.

Used by the shim when the container exits and by reconciliation when a shim died; every step
tolerates having been done already, so running it twice (or after a reboot wiped run_root)
is harmless.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from typing import TYPE_CHECKING

from hull.engine.container_paths import ContainerPaths
from hull.errors import HullError

if TYPE_CHECKING:
    from hull.engine.container_store import ContainerStore


def oom_killed(runtime_name: str, paths: ContainerPaths) -> bool:
    """Whether the kernel OOM-killed something in the container (read before teardown)."""
    from hull.runtime import get_runtime

    try:
        return get_runtime(runtime_name, paths.runtime_root).oom_killed(paths.id)
    except HullError:
        return _cgroup_oom(paths)
    except OSError:
        return False


def _cgroup_oom(paths: ContainerPaths) -> bool:
    from hull.runtime.cgroups import open_cgroup

    try:
        return open_cgroup(paths.cgroups_path).oom_kills() > 0
    except (HullError, OSError):
        return False


def release(runtime_name: str, paths: ContainerPaths) -> None:
    """Kill leftovers and free the container's host resources.

    The network goes in a thread alongside the rest: deleting a veth pair mostly waits in
    the kernel for RCU grace periods (tens of milliseconds), time the other steps can use.
    """
    import threading

    from hull.runtime import get_runtime

    network = threading.Thread(target=_release_network, args=(paths,))
    network.start()
    try:
        with contextlib.suppress(HullError, OSError):
            get_runtime(runtime_name, paths.runtime_root).delete(paths.id, force=True)
        _destroy_cgroup(paths)
        from hull.volume.active import release_container

        with contextlib.suppress(HullError, OSError):
            release_container(paths.run_root, paths.id)
        unmount_rootfs(paths)
    finally:
        network.join()
    from hull.engine.container_netns import remove_netns

    remove_netns(paths.netns)
    shutil.rmtree(paths.bundle, ignore_errors=True)


def _release_network(paths: ContainerPaths) -> None:
    from hull.network.plumbing import release as release_network

    with contextlib.suppress(HullError, OSError):
        release_network(paths.root, paths.run_root, paths.id)


def _destroy_cgroup(paths: ContainerPaths) -> None:
    """The runtime normally removes it; after a lost runtime state do it here."""
    from hull.runtime.cgroups import open_cgroup

    try:
        cgroup = open_cgroup(paths.cgroups_path)
        if not cgroup.exists():
            return
        import signal

        with contextlib.suppress(HullError, OSError):
            cgroup.set_frozen(False)
        for _ in range(100):
            pids = cgroup.procs()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            import time

            time.sleep(0.01)
        cgroup.destroy(timeout=5)
    except (HullError, OSError):
        pass


def unmount_rootfs(paths: ContainerPaths) -> None:
    """Detach every mount stacked on the rootfs: umount2 until "not a mount point".

    Straight syscalls, no /proc/self/mountinfo scan: on a busy host that file is long.
    """
    import errno

    from hull.runtime import syscalls as sc

    for _ in range(16):
        try:
            sc.umount2(paths.rootfs, sc.MNT_DETACH)
        except OSError as e:
            if e.errno not in (errno.EINVAL, errno.ENOENT):
                from hull.snapshot.mount import unmount_all

                with contextlib.suppress(HullError, OSError):
                    unmount_all(paths.rootfs, detach=True)
            return


def discard(store: ContainerStore, paths: ContainerPaths, snapshotter: str) -> None:
    """Forget a stopped container: its writable layer, its files, then its record."""
    from hull.snapshot import open_snapshotter

    snap = open_snapshotter(paths.root, store.db, snapshotter)
    key = f"container-{paths.id}"
    if snap.stat(key) is not None:
        snap.remove(key)
    shutil.rmtree(paths.dir, ignore_errors=True)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(paths.lock)
    store.delete(paths.id)
    from hull.volume.cleanup import remove_owned

    with contextlib.suppress(HullError, OSError):
        remove_owned(store.db, paths.root, paths.id)
