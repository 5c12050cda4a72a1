"""A container's mount points from its Config and HostConfig, in Docker's precedence.

1. ``--volumes-from``: the other container's mount points (read-only with ``:ro``);
2. ``-v`` binds and named volumes, which replace those at the same destination;
3. ``--mount``; 4. ``--tmpfs``; 5. the image's ``VOLUME`` and ``-v /path``: anonymous
volumes wherever nothing else is mounted.  Two of 2-4 on one destination is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hull import record as records
from hull.volume import specs
from hull.volume.mountpoint import VOLUME, MountPoint
from hull.volume.specs import MountError


def duplicate(destination: str) -> MountError:
    return MountError(f"Duplicate mount point: {destination}")


def plan_mounts(config: dict[str, Any], host_config: dict[str, Any],
                mounts_of: Callable[[str], list[MountPoint]]) -> list[MountPoint]:
    """Validate every mount request; ``mounts_of(ref)`` gives another container's points."""
    points: dict[str, MountPoint] = {}
    for spec in host_config.get("VolumesFrom") or []:
        ref, mode = specs.parse_volumes_from(spec)
        for mp in mounts_of(ref):
            copy = records.replace(mp, rw=mp.rw and specs.read_write(mode),
                                       copy_data=False, create_source=False)
            points[copy.destination] = copy
    tmpfs = {specs.clean(d): o for d, o in (host_config.get("Tmpfs") or {}).items()}
    explicit: set[str] = set()
    for raw in host_config.get("Binds") or []:
        mp = specs.parse_bind(raw)
        if mp.destination in explicit or mp.destination in tmpfs:
            raise duplicate(mp.destination)
        explicit.add(mp.destination)
        points[mp.destination] = mp
    for doc in host_config.get("Mounts") or []:
        mp = specs.parse_mount(doc)
        if mp.destination in explicit:
            raise duplicate(str(doc.get("Target")))
        explicit.add(mp.destination)
        points[mp.destination] = mp
    for destination, options in (host_config.get("Tmpfs") or {}).items():
        mp = specs.parse_tmpfs(destination, options or "")
        points[mp.destination] = mp
    for destination in config.get("Volumes") or {}:
        if not destination:
            raise MountError(specs.invalid_spec(destination))
        mp = specs.anonymous(destination)
        if mp.destination == "/":
            raise MountError("invalid specification: destination can't be '/'")
        if not mp.destination.startswith("/"):
            raise MountError(f"invalid mount path: '{destination}' mount path must be"
                             " absolute")
        points.setdefault(mp.destination, mp)
    return list(points.values())


def named_volumes(points: list[MountPoint]) -> list[MountPoint]:
    return [mp for mp in points if mp.type == VOLUME and mp.name]
