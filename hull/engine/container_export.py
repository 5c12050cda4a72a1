"""A container's whole filesystem as one tar (``hull export``).

The merged tree is written as it is now (image layers and the container's changes; no
volumes), in the canonical order the layer writer uses, so ``hull import`` of the result
gives an image with the same files, modes, owners, links and xattrs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from hull.engine import Engine


def export_container(engine: Engine, ref: str, out: BinaryIO) -> None:
    """Write the root filesystem of the container ``ref`` (running or stopped) to ``out``."""
    from hull.archive.diff import write_tree
    from hull.engine.container_rootfs import mounted_rootfs

    c = engine.containers.get(ref)
    with mounted_rootfs(engine, c) as root:
        write_tree(root, out)
