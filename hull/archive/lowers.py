"""The merged view of overlay lower layers, computed from their directories without a mount.

``hull diff`` on an overlay container must tell added from changed paths and list what an
opaque directory hides, which means asking "does this path exist below the upperdir?".
The answer comes from the stack of layer directories, top-most first (the order of
overlay's ``lowerdir=`` option), with overlay's own rules: a 0/0 character device is a
whiteout, a directory with ``trusted.overlay.opaque=y`` hides the layers below it, and a
non-directory hides everything below its path in lower layers.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence

OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    for key in OPAQUE_XATTRS:
        try:
            if os.getxattr(path, key, follow_symlinks=False) == b"y":
                return True
        except OSError as error:
            if error.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
    return False


class MergedLowers:
    """Answers lstat/listdir questions about the merged view of overlay lower layers."""

    def __init__(self, layers: Sequence[str]) -> None:
        self.layers = list(layers)
        self._opaque: dict[str, bool] = {}

    def _opaque_dir(self, path: str) -> bool:
        found = self._opaque.get(path)
        if found is None:
            found = self._opaque[path] = _is_opaque(path)
        return found

    def _in_layer(self, layer: str, parts: list[str]) -> tuple[os.stat_result | None, bool]:
        """(lstat of the path in this layer or None, whether this layer hides lower ones)."""
        path = layer
        hides = False
        for index, part in enumerate(parts):
            path = os.path.join(path, part)
            try:
                st = os.lstat(path)
            except (FileNotFoundError, NotADirectoryError):
                return None, hides
            if index == len(parts) - 1:
                return st, True
            if is_whiteout(st) or not stat.S_ISDIR(st.st_mode):
                return None, True  # an ancestor deleted or replaced in this layer
            if self._opaque_dir(path):
                hides = True
        return None, hides

    def lstat(self, rel: str) -> os.stat_result | None:
        """The lstat of ``rel`` (relative, ``/``-separated) as the merged view shows it."""
        parts = [part for part in rel.split("/") if part]
        if not parts:
            return os.lstat(self.layers[0]) if self.layers else None
        for layer in self.layers:
            st, hides = self._in_layer(layer, parts)
            if st is not None:
                return None if is_whiteout(st) else st
            if hides:
                return None
        return None

    def exists(self, rel: str) -> bool:
        return self.lstat(rel) is not None

    def listdir(self, rel: str) -> list[str]:
        """The names the merged directory ``rel`` shows (empty if it is not a directory)."""
        st = self.lstat(rel)
        if st is None or not stat.S_ISDIR(st.st_mode):
            return []
        candidates: set[str] = set()
        for layer in self.layers:
            try:
                candidates.update(os.listdir(os.path.join(layer, rel)))
            except (FileNotFoundError, NotADirectoryError):
                pass
        prefix = f"{rel}/" if rel else ""
        return [name for name in candidates if self.exists(prefix + name)]
