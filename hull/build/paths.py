"""Paths inside a tree (a context, a step's root filesystem) that cannot escape it.

Symlinks met on the way are resolved as if the tree's root were ``/``, the same rule the
runtime uses for mount destinations, so a context or an image cannot make the builder
read or write outside it.
"""

from __future__ import annotations

from hull.errors import EngineError, InvalidArgument


def in_tree(root: str, path: str) -> str:
    """``root/path`` with every symlink resolved inside ``root``; never outside it."""
    from hull.runtime.rootfs import secure_join

    try:
        return secure_join(root, path)
    except EngineError:
        raise InvalidArgument(f"too many levels of symbolic links in {path!r}") from None
