"""Where a container's files live.

Persistent (``<root>/containers/<id>/``): hostname, hosts, resolv.conf and the json-file log.
Runtime (``<run_root>/...``, gone after a reboot): the bundle with config.json and the
mounted rootfs, the attach and console sockets, the pinned network namespace and the
runtime's own state.  Everything under run_root is rebuilt on each start.
"""

from __future__ import annotations

import os

from hull.record import record


@record(frozen=True)
class ContainerPaths:
    root: str
    run_root: str
    id: str

    @property
    def dir(self) -> str:
        return os.path.join(self.root, "containers", self.id)

    @property
    def log(self) -> str:
        return os.path.join(self.dir, f"{self.id}-json.log")

    @property
    def bundle(self) -> str:
        return os.path.join(self.run_root, "containers", self.id)

    @property
    def rootfs(self) -> str:
        return os.path.join(self.bundle, "rootfs")

    @property
    def config(self) -> str:
        return os.path.join(self.bundle, "config.json")

    @property
    def name_file(self) -> str:
        """The container's name while it runs (``exec`` finds it without the database)."""
        return os.path.join(self.bundle, "name")

    @property
    def shim_file(self) -> str:
        """"<pid> <start time>" of the shim watching the container, written as it starts."""
        return os.path.join(self.bundle, "shim")

    @property
    def attach_socket(self) -> str:
        return os.path.join(self.bundle, "attach.sock")

    @property
    def console_socket(self) -> str:
        return os.path.join(self.bundle, "console.sock")

    @property
    def lock(self) -> str:
        return os.path.join(self.run_root, "containers", f"{self.id}.lock")

    @property
    def netns(self) -> str:
        return os.path.join(self.run_root, "netns", self.id)

    @property
    def runtime_root(self) -> str:
        return os.path.join(self.run_root, "runtime")

    @property
    def cgroups_path(self) -> str:
        return f"/hull/{self.id}"
