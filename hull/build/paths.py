"""Paths inside a tree (a context, a step's root filesystem) that cannot escape it.

Symlinks met on the way are resolved as if the tree's root were ``/``, the same rule the
runtime uses for mount destinations, so a context or an image cannot make the builder
read or write outside it.
"""

from __future__ import annotations

import os
import stat

from hull.errors import InvalidArgument

MAX_SYMLINKS = 255


def in_tree(root: str, path: str) -> str:
    """``root/path`` with every symlink resolved inside ``root``; never outside it."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            st = os.lstat(candidate)
        except (FileNotFoundError, NotADirectoryError):
            resolved.append(part)
            continue
        if stat.S_ISLNK(st.st_mode):
            links += 1
            if links > MAX_SYMLINKS:
                raise InvalidArgument(f"too many levels of symbolic links in {path!r}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return os.path.join(root, *resolved)
