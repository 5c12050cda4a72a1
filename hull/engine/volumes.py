"""The volume service: ``hull volume ...`` and the volumes of containers.

Front ends call :class:`VolumeService` for volume commands.  The container service calls
:meth:`VolumeService.plan` before it records a container (bad mount requests fail there,
before anything exists), :meth:`VolumeService.attach` once the record exists (volumes are
created and the mount points stored in one transaction) and
:meth:`VolumeService.mount_entries` when it writes the bundle (copy-up, mounting volumes
with driver options, runtime-spec entries).
"""

from __future__ import annotations

import contextlib
import os
import re
import time

from hull.errors import HullError, InvalidArgument, NotFound
from hull.volume.model import Volume, data_dir
from hull.volume.mountpoint import BIND, VOLUME, MountPoint
from hull.volume.names import ANONYMOUS_LABEL, LOCAL_DRIVER, anonymous_name, op_error
from hull.volume.store import VolumeStore

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from typing import Any

    from hull.engine import Engine

LIST_FILTERS = ("dangling", "name", "driver", "label")
PRUNE_FILTERS = ("label", "label!", "all")


def _driver_problem(driver: str) -> str | None:
    if driver in ("", LOCAL_DRIVER):
        return None
    return f'error looking up volume plugin {driver}: plugin "{driver}" not found'


def _go_bool(values: list[str], key: str) -> bool:
    falsy = any(v in ("0", "false") for v in values)
    truthy = any(v in ("1", "true") for v in values)
    if falsy == truthy:
        raise InvalidArgument(f"invalid filter '{key}=[{' '.join(values)}]'")
    return truthy


def _match_kv(filters: list[str], labels: dict[str, str] | None) -> bool:
    """Docker's MatchKVList: every ``key`` or ``key=value`` is among the labels."""
    if not filters:
        return True
    if not labels:
        return False
    for item in filters:
        key, has_value, value = item.partition("=")
        if key not in labels or (has_value and labels[key] != value):
            return False
    return True


def _name_matches(patterns: list[str], name: str) -> bool:
    for pattern in patterns:
        if pattern == name:
            return True
        with contextlib.suppress(re.error):
            if re.search(pattern, name):
                return True
    return False


class VolumeService:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.store = VolumeStore(engine.db)

    @property
    def root(self) -> str:
        return self.engine.root

    # ---- volume commands -----------------------------------------------------------------

    def create(self, name: str = "", driver: str = LOCAL_DRIVER,
               labels: dict[str, str] | None = None,
               options: dict[str, str] | None = None) -> dict[str, Any]:
        """Create a volume (or return the existing one of that name): its inspect document.

        Without a name it gets a random one and is anonymous, as in Docker.
        """
        labels = dict(labels or {})
        if not name:
            name = anonymous_name()
            labels[ANONYMOUS_LABEL] = ""
        created: list[str] = []
        try:
            with self.engine.db.transaction():
                v = self._get_or_create(name, driver or LOCAL_DRIVER, labels,
                                        dict(options or {}), "", created)
        except BaseException:
            self._forget_dirs(created)
            raise
        return v.doc(self.root)

    def get(self, name: str) -> Volume:
        v = self.store.get(name)
        if v is None:
            raise NotFound(op_error("get", name, "no such volume"))
        return v

    def inspect(self, name: str) -> dict[str, Any]:
        v = self.store.get(name)
        if v is None:
            raise NotFound(f"No such volume: {name}")
        return v.doc(self.root)

    def list(self, filters: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
        """Volumes matching Docker's ``volume ls`` filters, as inspect documents."""
        filters = filters or {}
        for key in filters:
            if key not in LIST_FILTERS:
                raise InvalidArgument(f"invalid filter '{key}'")
        return [v.doc(self.root) for v in self._select(filters)]

    def _select(self, filters: dict[str, list[str]]) -> list[Volume]:
        volumes = self.store.all()
        if "dangling" in filters:
            dangling = _go_bool(filters["dangling"], "dangling")
            used = self.store.used_names()
            volumes = [v for v in volumes if (v.name not in used) == dangling]
        if filters.get("driver"):
            volumes = [v for v in volumes if v.driver in filters["driver"]]
        if "name" in filters:
            volumes = [v for v in volumes if _name_matches(filters["name"], v.name)]
        volumes = [v for v in volumes if _match_kv(filters.get("label", []), v.labels)]
        if filters.get("label!"):
            volumes = [v for v in volumes if not _match_kv(filters["label!"], v.labels)]
        return volumes

    def remove(self, name: str, force: bool = False) -> None:
        """Remove a volume no container uses; ``force`` ignores one that does not exist."""
        from hull.volume.cleanup import remove_volume

        try:
            remove_volume(self.store, self.root, name)
        except NotFound:
            if not force:
                raise

    def prune(self, filters: dict[str, list[str]] | None = None,
              all_volumes: bool = False) -> tuple[list[str], int]:
        """Remove unused local volumes: anonymous ones only unless ``all_volumes``.

        Volumes with driver options (tmpfs, binds of host directories, devices) are never
        pruned, as in Docker.  Returns (names removed, bytes reclaimed).
        """
        from hull.snapshot.fsutil import tree_usage
        from hull.volume.cleanup import remove_volume

        filters = {k: list(v) for k, v in (filters or {}).items()}
        for key in filters:
            if key not in PRUNE_FILTERS:
                raise InvalidArgument(f"invalid filter '{key}'")
        if all_volumes:
            if "all" in filters:
                raise InvalidArgument("conflicting options: cannot specify both --all and"
                                      " --filter all=1")
            filters["all"] = ["true"]
        if not self._prune_all(filters.pop("all", [])):
            filters.setdefault("label", []).append(ANONYMOUS_LABEL)
        used = self.store.used_names()
        removed: list[str] = []
        reclaimed = 0
        for v in self._select(filters):
            if v.name in used or v.driver != LOCAL_DRIVER or v.options:
                continue
            size = tree_usage(data_dir(self.root, v.name))
            try:
                remove_volume(self.store, self.root, v.name)
            except HullError:
                continue
            removed.append(v.name)
            reclaimed += size
        return removed, reclaimed

    @staticmethod
    def _prune_all(values: list[str]) -> bool:
        if len(values) > 1:
            raise InvalidArgument(f"invalid filter 'all=[{' '.join(values)}]': only one value"
                                  " is expected")
        if not values:
            return False
        text = values[0]
        if text in ("1", "t", "T", "true", "TRUE", "True"):
            return True
        if text in ("0", "f", "F", "false", "FALSE", "False"):
            return False
        raise InvalidArgument(f"invalid filter 'all': strconv.ParseBool: parsing \"{text}\":"
                              " invalid syntax")

    # ---- creating volumes ----------------------------------------------------------------

    def _get_or_create(self, name: str, driver: str, labels: dict[str, str] | None,
                       options: dict[str, str] | None, remove_with: str,
                       created: list[str]) -> Volume:
        """Inside a transaction: the volume ``name``, made if missing (``created`` gets it)."""
        from hull.volume.localdriver import create_dirs, options_problem
        from hull.volume.names import name_problem

        problem = _driver_problem(driver) or name_problem(name)
        if problem:
            raise InvalidArgument(op_error("create", name, problem))
        existing = self.store.get(name)
        if existing is not None:
            return existing
        problem = options_problem(options or {})
        if problem:
            raise InvalidArgument(op_error("create", name, problem))
        v = Volume(name, LOCAL_DRIVER, labels, options, time.time(), remove_with)
        self.store.insert(v)
        created.append(name)
        try:
            create_dirs(self.root, name)
        except OSError as e:
            raise HullError(op_error("create", name, "error while creating volume root path"
                                     f" '{data_dir(self.root, name)}': {e.strerror}"))
        return v

    def _forget_dirs(self, names: list[str]) -> None:
        """Undo directories made in a transaction that rolled back."""
        from hull.volume.localdriver import remove_dirs

        for name in names:
            if self.store.get(name) is None:
                with contextlib.suppress(HullError, OSError):
                    remove_dirs(self.root, name)

    # ---- containers ----------------------------------------------------------------------

    def plan(self, config: dict[str, Any], host_config: dict[str, Any]) -> list[MountPoint]:
        """Check a new container's mount requests; nothing is created here."""
        if not (config.get("Volumes") or any(host_config.get(k) for k in (
                "Binds", "Mounts", "Tmpfs", "VolumesFrom"))):
            return []
        from hull.volume.localdriver import options_problem
        from hull.volume.names import name_problem
        from hull.volume.plan import plan_mounts
        from hull.volume.specs import MountError

        points = plan_mounts(config, host_config, self._mounts_of_container)
        for mp in points:
            if mp.type != VOLUME or not mp.name:
                continue
            problem = _driver_problem(mp.driver) or name_problem(mp.name)
            if problem is None and self.store.get(mp.name) is None:
                problem = options_problem(mp.volume_options or {})
            if problem:
                raise MountError(op_error("create", mp.name, problem))
        return points

    def _mounts_of_container(self, ref: str) -> list[MountPoint]:
        from hull.volume.specs import MountError

        try:
            c = self.engine.containers.store.find(ref)
        except NotFound:
            raise MountError(f"No such container: {ref}") from None
        points = [MountPoint.from_dict(spec) for spec, _ in self.store.mounts_of(c.id)]
        return [mp for mp in points if mp.listed]  # --tmpfs mounts are not shared (Docker)

    def attach(self, container_id: str, points: list[MountPoint],
               auto_remove: bool = False) -> list[dict[str, Any]]:
        """Create the volumes a recorded container needs and store its mount points.

        One transaction: either every volume and mount point exists afterwards or none
        does.  Anonymous volumes of an ``auto_remove`` container go when it is removed.
        Returns the container's ``Mounts`` as ``docker inspect`` shows them.
        """
        if not points:
            return []
        created: list[str] = []
        try:
            with self.engine.db.transaction():
                for mp in points:
                    volume = None
                    if mp.type == VOLUME:
                        volume = self._volume_for(container_id, mp, auto_remove, created)
                    self.store.add_mount(container_id, mp.destination, volume, mp.to_dict(),
                                         mp.type == VOLUME and mp.copy_data)
        except BaseException:
            self._forget_dirs(created)
            raise
        return [mp.inspect_doc() for mp in points if mp.listed]

    def _volume_for(self, container_id: str, mp: MountPoint, auto_remove: bool,
                    created: list[str]) -> str:
        if mp.name:
            v = self._get_or_create(mp.name, mp.driver or LOCAL_DRIVER, mp.volume_labels,
                                    mp.volume_options, "", created)
        else:
            labels = dict(mp.volume_labels or {})
            labels[ANONYMOUS_LABEL] = ""
            v = self._get_or_create(anonymous_name(), mp.driver or LOCAL_DRIVER, labels,
                                    mp.volume_options, container_id if auto_remove else "",
                                    created)
            mp.name = v.name
        mp.driver = v.driver
        mp.source = data_dir(self.root, v.name)
        return v.name

    def mount_entries(self, container_id: str, rootfs: str) -> list[dict[str, Any]]:
        """Runtime-spec mounts for one start of a container whose rootfs is mounted.

        Seeds new volumes from the image (once), mounts volumes that have driver options
        (counted as used until the container stops), creates a missing ``-v`` bind
        source as a directory.
        """
        mounts = self.store.mounts_of(container_id)
        if not mounts:
            return []
        from hull.volume.active import acquire
        from hull.volume.copyup import seed_volume
        from hull.volume.ocimounts import oci_mount
        from hull.volume.specs import MountError

        entries = []
        for spec, copy_pending in mounts:
            mp = MountPoint.from_dict(spec)
            source = "tmpfs"
            if mp.type == VOLUME:
                v = self.store.get(mp.name)
                if v is None:
                    raise NotFound(f"volume {mp.name} of container {container_id[:12]} is"
                                   " missing", exit_code=125)
                source = data_dir(self.root, v.name)
                if v.needs_mount:
                    acquire(self.root, self.engine.run_root, v.name, v.options or {},
                            container_id)
                if copy_pending:
                    seed_volume(rootfs, mp.destination, source)
                    with self.engine.db.transaction():
                        self.store.copy_done(container_id, mp.destination)
            elif mp.type == BIND:
                source = mp.source
                if not os.path.lexists(source):
                    if not mp.create_source:
                        raise MountError('invalid mount config for type "bind": bind source'
                                         f" path does not exist: {source}")
                    os.makedirs(source, mode=0o755, exist_ok=True)
            entries.append(oci_mount(mp, source))
        return entries

    def anonymous_of(self, container_id: str) -> list[str]:
        """Names of the anonymous volumes a container mounts (what ``rm -v`` removes)."""
        return [MountPoint.from_dict(spec).name
                for spec, _ in self.store.mounts_of(container_id)
                if spec.get("type") == VOLUME and not spec.get("named") and spec.get("name")]

    def remove_unused(self, names: list[str]) -> list[str]:
        """Remove those of ``names`` no container uses any more (``rm -v``)."""
        from hull.volume.cleanup import remove_if_unused

        return remove_if_unused(self.store, self.root, names)
