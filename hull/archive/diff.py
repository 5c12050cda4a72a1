"""Turn directory trees back into layer tars, and list changes like ``docker diff``.

Two sources of changes:

- an overlayfs upperdir (:func:`write_overlay_diff`): it holds exactly the changed
  entries plus their copied-up parents; deletions are 0/0 char devices and a
  directory that was removed and made again carries ``trusted.overlay.opaque=y``;
- two full trees (:func:`write_tree_diff`), for the copying snapshotter: entries
  whose metadata differ are written, deletions become whiteouts, and every
  change's parent directories are written too so the layer is self-contained.

Whiteouts and opaque markers are empty regular files with fixed metadata (mode
0600, owner 0:0, mtime 0), so the same change always gives the same bytes.
Overlay mounts must not use ``redirect_dir`` or ``metacopy``: an upperdir that
depends on them cannot be read on its own, and is refused.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from typing import BinaryIO

from hull.archive.apply import (
    OVERLAY_OPAQUE_XATTR,
    WHITEOUT_OPAQUE,
    WHITEOUT_PREFIX,
)
from hull.archive.lowers import MergedLowers
from hull.archive.walk import compare_trees, iter_tree, join
from hull.archive.writer import TarWriter, read_xattrs
from hull.errors import EngineError, InvalidArgument, NotFound

_OPAQUE_XATTRS = (OVERLAY_OPAQUE_XATTR, "user.overlay.opaque")
_UNSUPPORTED_OVERLAY_XATTRS = ("trusted.overlay.redirect", "trusted.overlay.metacopy",
                               "user.overlay.redirect", "user.overlay.metacopy")


def _require_dir(path: str, what: str) -> None:
    if not os.path.isdir(path):
        raise NotFound(f"{what} directory {path} does not exist")


def _whiteout_name(rel: str) -> str:
    parent, _, name = rel.rpartition("/")
    return join(parent, WHITEOUT_PREFIX + name)


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _overlay_state(path: str, st: os.stat_result) -> tuple[bool, dict[str, bytes]]:
    """Whether the upperdir entry is opaque, and its xattrs; refuse redirect/metacopy."""
    xattrs = read_xattrs(path)
    for key in _UNSUPPORTED_OVERLAY_XATTRS:
        if key in xattrs:
            raise EngineError(f"cannot export {path}: it depends on overlay {key.split('.')[-1]}"
                              f" (mount overlay with redirect_dir=off,metacopy=off)")
    opaque = stat.S_ISDIR(st.st_mode) and any(xattrs.get(k) == b"y" for k in _OPAQUE_XATTRS)
    return opaque, xattrs


def write_tree(src: str, out: BinaryIO) -> None:
    """A whole tree as a canonical tar (for ``hull export`` and first layers)."""
    _require_dir(src, "source")
    writer = TarWriter(out)
    for rel, path, st in iter_tree(src):
        writer.add_path(rel, path, st)
    writer.close()


def write_overlay_diff(upper: str, out: BinaryIO) -> None:
    """An overlayfs upperdir -> layer tar: 0/0 char devices become ``.wh.<name>``, a dir with
    xattr trusted.overlay.opaque=y gets a ``.wh..wh..opq`` entry (and its contents)."""
    _require_dir(upper, "upper")
    writer = TarWriter(out)
    for rel, path, st in iter_tree(upper):
        if _is_whiteout(st):
            writer.add_whiteout(_whiteout_name(rel))
            continue
        opaque, xattrs = _overlay_state(path, st)
        writer.add_path(rel, path, st, xattrs)
        if opaque:
            writer.add_whiteout(join(rel, WHITEOUT_OPAQUE))
    writer.close()


def write_tree_diff(lower: str | None, upper: str, out: BinaryIO) -> None:
    """Compare two full trees (``upper`` = parent + changes, ``lower`` = the parent tree) and
    write the changes as a layer tar, deletions as whiteouts.  lower=None: the whole tree."""
    if lower is None:
        write_tree(upper, out)
        return
    _require_dir(lower, "lower")
    _require_dir(upper, "upper")
    writer = TarWriter(out)
    # Directories being walked: [rel, path, stat, already written?].  A change deep in
    # the tree first writes the unwritten directories above it.
    open_dirs: list[list] = []

    def write_parents() -> None:
        for item in open_dirs:
            if not item[3]:
                writer.add_path(item[0], item[1], item[2])
                item[3] = True

    for kind, rel, path, st in compare_trees(lower, upper):
        if kind == "<":
            open_dirs.pop()
        elif kind == "=":
            open_dirs.append([rel, path, st, False])
        elif kind == "D":
            write_parents()
            writer.add_whiteout(_whiteout_name(rel))
        else:
            assert st is not None
            write_parents()
            writer.add_path(rel, path, st)
            if stat.S_ISDIR(st.st_mode):
                open_dirs.append([rel, path, st, True])
    writer.close()


def changes(lower: str | Sequence[str] | None, upper: str,
            overlay: bool) -> list[tuple[str, str]]:
    """(kind, path) with kind 'A', 'C', 'D' like ``docker diff`` (path like '/etc/passwd'),
    sorted by path.

    ``overlay=True``: ``upper`` is an overlay upperdir and ``lower`` what lies below it: a
    merged view, or the lower layer directories top-most first (as in overlay's
    ``lowerdir=``), read with overlay's rules (whiteouts, opaque directories), so no mount
    is needed.  A directory present in both is 'C'
    (like Docker on overlay2, a copied-up parent counts as changed); below an opaque
    directory, what the lower tree had and the upperdir lacks is 'D'.
    ``overlay=False``: two full trees, compared by metadata; entries that differ are listed,
    a deleted directory is one 'D' (not one per file inside), and, as Docker does for both
    kinds of storage, every directory holding a change is 'C' too, so the two modes agree.
    """
    _require_dir(upper, "upper")
    lowers = [] if lower is None else [lower] if isinstance(lower, str) else list(lower)
    for layer in lowers:
        _require_dir(layer, "lower")
    if overlay:
        found = _overlay_changes(MergedLowers(lowers) if lowers else None, upper)
    elif len(lowers) > 1:
        raise InvalidArgument("comparing two full trees takes one lower directory")
    elif lower is None:
        found = [("A", "/" + rel) for rel, _, _ in iter_tree(upper)]
    else:
        found = _with_changed_parents(
            [(kind, "/" + rel) for kind, rel, _, _ in compare_trees(lowers[0], upper)
             if kind in ("A", "C", "D")])
    return sorted(found, key=lambda change: change[1].encode("utf-8", "surrogateescape"))


def _with_changed_parents(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Add the directories above each change as 'C' (an in-place edit of /etc/passwd leaves
    /etc's own metadata alone, yet ``docker diff`` lists /etc)."""
    listed = {path for _, path in found}
    parents: list[tuple[str, str]] = []
    for _, path in found:
        parent = path.rpartition("/")[0]
        while parent and parent not in listed:
            listed.add(parent)
            parents.append(("C", parent))
            parent = parent.rpartition("/")[0]
    return found + parents


def _overlay_changes(lower: MergedLowers | None, upper: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    opaque_below: list[str] = []  # opaque directories whose subtree is being walked

    def in_lower(rel: str) -> bool:
        return lower is not None and lower.exists(rel)

    for rel, path, st in iter_tree(upper):
        while opaque_below and not rel.startswith(opaque_below[-1] + "/"):
            opaque_below.pop()
        if _is_whiteout(st):
            if in_lower(rel):
                found.append(("D", "/" + rel))
            continue
        opaque, _ = _overlay_state(path, st)
        found.append(("C" if in_lower(rel) else "A", "/" + rel))
        if opaque:
            opaque_below.append(rel)
        if opaque_below and stat.S_ISDIR(st.st_mode) and lower is not None:
            # Everything the lower directory had that the upper one lacks is hidden now.
            upper_names = set(os.listdir(path))
            found.extend(("D", "/" + join(rel, name)) for name in lower.listdir(rel)
                         if name not in upper_names)
    return found
