"""Docker's ``local`` volume driver: option checks, directories, and mounting ``_data``.

A plain local volume is just ``<root>/volumes/<name>/_data``.  With ``-o type=...
-o device=... -o o=...`` it is a filesystem (tmpfs, a bind of a host directory, a block
device, NFS, ...) mounted on ``_data`` while containers use it; :mod:`hull.volume.active`
decides when.
"""

from __future__ import annotations

import os
import re

from hull.errors import EngineError
from hull.volume.model import data_dir, volumes_dir
from hull.volume.names import go_quote

VALID_OPTIONS = ("type", "o", "device", "size")
# an option -> the options it cannot go without (checked in this order, like Docker's)
REQUIRED_WITH = (("device", ("type",)), ("type", ("device",)), ("o", ("device", "type")))
_RAM_SIZE = re.compile(r"(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[bB]?")


def options_problem(options: dict[str, str]) -> str | None:
    """Why the local driver refuses these ``-o`` options, or None."""
    for key in options:
        if key not in VALID_OPTIONS:
            return f"invalid option: {go_quote(key)}"
    if "size" in options:
        match = _RAM_SIZE.fullmatch(options["size"])
        if match is None:
            return f"invalid size: '{options['size']}'"
        if float(match.group(1)) > 0:
            return "quota size requested but no quota support"
    for key, required in REQUIRED_WITH:
        if key in options:
            for other in required:
                if other not in options:
                    return f"missing required option: {go_quote(other)}"
    return None


def create_dirs(root: str, name: str) -> None:
    """``volumes/<name>/_data``: the parents closed to others (0701), the data open (0755)."""
    base = volumes_dir(root)
    os.makedirs(base, mode=0o701, exist_ok=True)
    os.makedirs(os.path.join(base, name), mode=0o701, exist_ok=True)
    os.makedirs(data_dir(root, name), mode=0o755, exist_ok=True)


def remove_dirs(root: str, name: str) -> None:
    """Delete a volume's directory; a filesystem still mounted on it is unmounted first,
    so removing a bind-typed volume never deletes the host directory it showed."""
    from hull.snapshot.fsutil import remove_tree
    from hull.snapshot.mount import mounted, unmount_all

    path = data_dir(root, name)
    if os.path.isdir(path) and mounted(path):
        unmount_all(path, detach=True)
    target = os.path.join(volumes_dir(root), name)
    if os.path.realpath(target) == os.path.realpath(volumes_dir(root)):
        raise EngineError(f"refusing to remove the volumes directory itself: {target}")
    try:
        remove_tree(target)
    except OSError as e:
        raise EngineError(f"remove {name}: error removing volume path '{target}':"
                          f" {e.strerror}") from None


def mount_filesystem(root: str, name: str, options: dict[str, str]) -> None:
    """Mount what the options describe on ``_data`` (like ``mount -t TYPE -o O DEVICE``)."""
    from hull.runtime import mountopts
    from hull.runtime import syscalls as sc

    target = data_dir(root, name)
    device = options.get("device") or ""
    if not device:
        raise EngineError(f"error while mounting volume '{name}': missing device in volume"
                          " options")
    fstype = options.get("type") or None
    parsed = mountopts.parse([o for o in (options.get("o") or "").split(",") if o])
    try:
        if parsed.is_bind:
            sc.mount(device, target, None, parsed.flags & (sc.MS_BIND | sc.MS_REC))
            extra = parsed.flags & mountopts.BIND_REMOUNT_FLAGS
            if extra:
                sc.mount(None, target, None, sc.MS_BIND | sc.MS_REMOUNT | extra)
        else:
            sc.mount(device, target, fstype, parsed.flags, parsed.data_string)
        for propagation in parsed.propagation:
            sc.mount(None, target, None, propagation)
    except OSError as e:
        raise EngineError(f"error while mounting volume '{name}': failed to mount local"
                          f" volume: {e.strerror}") from None
