"""Walk directory trees in canonical order, and compare two of them.

Order: children by the bytes of their names, each directory before its contents
(depth first).  Iterative, so deep trees do not hit Python's recursion limit.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import Literal

from hull.archive.writer import layer_xattrs, read_xattrs


def _name_key(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def sorted_names(path: str) -> list[str]:
    return sorted(os.listdir(path), key=_name_key)


def lstat_or_none(path: str) -> os.stat_result | None:
    """lstat, or None when nothing is there (also when a parent is not a directory)."""
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def join(rel: str, name: str) -> str:
    return f"{rel}/{name}" if rel else name


def iter_tree(root: str) -> Iterator[tuple[str, str, os.stat_result]]:
    """(relative name, absolute path, lstat) for everything below ``root``."""
    prefix = root if root.endswith("/") else root + "/"
    stack: list[tuple[str, Iterator[str]]] = [("", iter(sorted_names(root)))]
    while stack:
        rel_dir, names = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            continue
        rel = f"{rel_dir}/{name}" if rel_dir else name
        path = prefix + rel
        st = os.lstat(path)
        yield rel, path, st
        if stat.S_ISDIR(st.st_mode):
            stack.append((rel, iter(sorted_names(path))))


Kind = Literal["A", "C", "D", "=", "<"]


def _differs(lower_path: str, lower: os.stat_result, upper_path: str,
             upper: os.stat_result) -> bool:
    """Whether an entry present in both trees (same file type) changed.

    Metadata decides, as in Docker: mode, owner, mtime (to the nanosecond), size, device
    number, link target and xattrs.  Content is not read: a copy that keeps metadata
    (``cp -a``) is unchanged, and any write moves the mtime.
    """
    if (lower.st_mode != upper.st_mode or lower.st_uid != upper.st_uid
            or lower.st_gid != upper.st_gid or lower.st_mtime_ns != upper.st_mtime_ns):
        return True
    mode = upper.st_mode
    if stat.S_ISREG(mode) and lower.st_size != upper.st_size:
        return True
    if (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) and lower.st_rdev != upper.st_rdev:
        return True
    if stat.S_ISLNK(mode) and os.readlink(lower_path) != os.readlink(upper_path):
        return True
    return layer_xattrs(read_xattrs(lower_path)) != layer_xattrs(read_xattrs(upper_path))


def compare_trees(lower: str, upper: str) -> Iterator[tuple[Kind, str, str, os.stat_result | None]]:
    """Walk ``upper`` against ``lower`` and yield ``(kind, rel, upper path, upper lstat)``.

    Kinds: "A" added, "C" changed, "D" deleted (only the top of a deleted subtree;
    no path or stat), "=" an unchanged directory about to be descended into, and "<"
    leaving the directory ``rel`` (after all its contents).  A directory yields
    "A"/"C"/"=" and later "<"; everything below an added directory is "A".
    """
    stack: list[tuple[str, Iterator[str], bool]] = [("", _merged_names(lower, upper, ""), True)]
    while stack:
        rel_dir, names, in_lower = stack[-1]
        name = next(names, None)
        if name is None:
            stack.pop()
            if stack:
                yield "<", rel_dir, "", None
            continue
        rel = join(rel_dir, name)
        upper_path = os.path.join(upper, rel)
        upper_st = lstat_or_none(upper_path)
        lower_path = os.path.join(lower, rel)
        lower_st = lstat_or_none(lower_path) if in_lower else None
        if upper_st is None:
            if lower_st is not None:
                yield "D", rel, "", None
            continue
        kind: Kind
        if lower_st is None:
            kind = "A"
        elif (stat.S_IFMT(lower_st.st_mode) != stat.S_IFMT(upper_st.st_mode)
              or _differs(lower_path, lower_st, upper_path, upper_st)):
            kind = "C"
        else:
            kind = "="
        if stat.S_ISDIR(upper_st.st_mode):
            yield kind, rel, upper_path, upper_st
            both_dirs = lower_st is not None and stat.S_ISDIR(lower_st.st_mode)
            children = (_merged_names(lower, upper, rel) if both_dirs
                        else iter(sorted_names(upper_path)))
            stack.append((rel, children, both_dirs))
        elif kind != "=":
            yield kind, rel, upper_path, upper_st


def _merged_names(lower: str, upper: str, rel: str) -> Iterator[str]:
    names = set(os.listdir(os.path.join(upper, rel))) | set(os.listdir(os.path.join(lower, rel)))
    return iter(sorted(names, key=_name_key))
