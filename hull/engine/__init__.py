"""The engine facade: every front end (CLI, API) goes through :class:`Engine`.

Services are created on first use so a command touches only what it needs.
"""

from __future__ import annotations

import os
from functools import cached_property

from hull.config import Settings

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from hull.content.store import BlobStore
    from hull.engine.builds import BuildService
    from hull.engine.containers import ContainerService
    from hull.engine.images import ImageService
    from hull.engine.networks import NetworkService
    from hull.engine.registry import RegistryService
    from hull.engine.volumes import VolumeService
    from hull.snapshot.base import Snapshotter
    from hull.state.db import Database


class Engine:
    """Owns the database, content store and snapshotter of one root."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()

    @property
    def root(self) -> str:
        return self.settings.root

    @property
    def run_root(self) -> str:
        return self.settings.run_root

    @cached_property
    def db(self) -> Database:
        from hull.state.db import Database

        os.makedirs(self.root, mode=0o711, exist_ok=True)
        return Database(os.path.join(self.root, "hull.db"))

    @cached_property
    def content(self) -> BlobStore:
        from hull.content.store import BlobStore

        return BlobStore(self.root)

    @cached_property
    def snapshotter(self) -> Snapshotter:
        from hull.snapshot import open_snapshotter

        return open_snapshotter(self.root, self.db, self.settings.snapshotter)

    @cached_property
    def images(self) -> ImageService:
        from hull.engine.images import ImageService

        return ImageService(self)

    @cached_property
    def registry(self) -> RegistryService:
        from hull.engine.registry import RegistryService

        return RegistryService(self)

    @cached_property
    def builds(self) -> BuildService:
        from hull.engine.builds import BuildService

        return BuildService(self)

    @cached_property
    def containers(self) -> ContainerService:
        from hull.engine.containers import ContainerService

        return ContainerService(self)

    @cached_property
    def networks(self) -> NetworkService:
        from hull.engine.networks import NetworkService

        return NetworkService(self)

    @cached_property
    def volumes(self) -> VolumeService:
        from hull.engine.volumes import VolumeService

        return VolumeService(self)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()

    def system_info(self) -> dict[str, object]:
        """Counts and facts for ``hull info`` (Docker's /info shape where it applies)."""
        import platform

        images = self.db.query_one("SELECT COUNT(*) AS n FROM images")["n"]
        layers = self.db.query_one("SELECT COUNT(*) AS n FROM layers")["n"]
        self.containers.reconcile()  # records of crashed shims first
        containers = self.db.query("SELECT data FROM containers")
        paused = sum(1 for r in containers if '"Paused": true' in r["data"])
        # a paused container is also "Running" in its State; Docker counts it once, as paused
        running = sum(1 for r in containers if '"Running": true' in r["data"]) - paused
        mem = 0
        try:
            with open("/proc/meminfo") as f:
                mem = int(f.readline().split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            pass
        used = _disk_used(self.root)
        from hull.cli.humanize import bytes_size, human_size

        return {
            "Containers": len(containers),
            "ContainersRunning": running,
            "ContainersPaused": paused,
            "ContainersStopped": len(containers) - running - paused,
            "Images": images,
            "Layers": layers,
            "ServerVersion": _version(),
            "Driver": self.snapshotter.name,
            "CgroupVersion": "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1",
            "KernelVersion": platform.release(),
            "OperatingSystem": _os_name(),
            "Architecture": platform.machine(),
            "NCPU": os.cpu_count() or 1,
            "MemTotal": mem,
            "MemTotalHuman": bytes_size(mem),
            "DockerRootDir": self.root,
            "RunRoot": self.run_root,
            "DiskUsed": used,
            "DiskUsedHuman": human_size(used),
        }


def _version() -> str:
    from hull import __version__

    return __version__


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def _disk_used(root: str) -> int:
    """Bytes under ``root`` (each inode once; not following mounts)."""
    total = 0
    seen: set[tuple[int, int]] = set()
    try:
        dev = os.lstat(root).st_dev
    except FileNotFoundError:
        return 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue
            if st.st_dev != dev or (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
        dirnames[:] = [d for d in dirnames
                       if os.lstat(os.path.join(dirpath, d)).st_dev == dev]
    return total
