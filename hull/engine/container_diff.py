"""What a container changed in its image's filesystem (``hull diff``), read from its layer.

No mount is needed: an overlay upperdir is read against the image's layer directories, a
copying snapshot's full tree against the image's tree.  The empty files the runtime makes
as mount points for the container's own /etc/hosts, /etc/hostname and /etc/resolv.conf
(when the image lacks them) are not changes of the user's; Docker keeps them in a hidden
"init" layer, so they are left out here, with the directories that held only them.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

from hull.record import record

if TYPE_CHECKING:
    from hull.engine import Engine
    from hull.engine.container_model import Container

MOUNT_POINT_FILES = ("/etc/hosts", "/etc/hostname", "/etc/resolv.conf")


@record(frozen=True)
class WritableLayer:
    """Where a container's changes are: ``upper``, and what lies below it."""

    upper: str
    lowers: tuple[str, ...]  # overlay: layer dirs, top-most first; copying: the image's tree
    overlay: bool

    def path(self, name: str) -> str:
        """The host path of a changed entry ('/etc/passwd'): it is in ``upper``."""
        return os.path.join(self.upper, name.lstrip("/"))


def writable_layer(engine: Engine, c: Container) -> WritableLayer:
    """The container's writable snapshot and the image layers below it."""
    from hull.errors import EngineError

    snap = engine.snapshotter
    if snap.stat(c.snapshot_key) is None:
        raise EngineError(f"container {c.id} has lost its writable layer; remove it")
    upper = snap.writable_dir(c.snapshot_key)
    if snap.whiteout_format == "overlay":
        lowers: tuple[str, ...] = ()
        for mount in snap.mounts(c.snapshot_key):
            for option in mount.options:
                if option.startswith("lowerdir="):
                    lowers = tuple(option[len("lowerdir="):].split(":"))
        return WritableLayer(upper, lowers, True)
    image = engine.images.get(c.image_id)
    chain = image.top_chain_id
    lowers = () if chain is None else (snap.mounts(chain)[0].source,)
    return WritableLayer(upper, lowers, False)


def layer_changes(layer: WritableLayer) -> list[tuple[str, str]]:
    """('A'|'C'|'D', '/path') sorted by path, without the runtime's mount point files."""
    from hull.archive.diff import changes

    if layer.overlay:
        found = changes(list(layer.lowers), layer.upper, overlay=True)
    else:
        found = changes(layer.lowers[0] if layer.lowers else None, layer.upper, overlay=False)
    return _without_mount_points(found, layer)


def _without_mount_points(found: list[tuple[str, str]],
                          layer: WritableLayer) -> list[tuple[str, str]]:
    dropped = set()
    for kind, name in found:
        if kind == "A" and name in MOUNT_POINT_FILES and _is_empty_file(layer.path(name)):
            dropped.add(name)
    if not dropped:
        return found
    kept = [(kind, name) for kind, name in found if name not in dropped]
    names = [name for _, name in kept]
    holders = {name.rpartition("/")[0] for name in dropped}
    # a directory listed only because a mount point file was made in it goes too
    return [(kind, name) for kind, name in kept
            if not (kind == "C" and name in holders and
                    not any(other.startswith(name + "/") for other in names))]


def _is_empty_file(path: str) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == 0


def container_changes(engine: Engine, ref: str) -> list[tuple[str, str]]:
    """``docker diff``: the changes of a running or stopped container."""
    c = engine.containers.get(ref)
    return layer_changes(writable_layer(engine, c))
