"""File-tree helpers for snapshot directories: size, removal and full copies."""

from __future__ import annotations

import os
import stat

from hull.errors import EngineError


def tree_usage(path: str) -> int:
    """Apparent bytes of the files under ``path``.

    Walks with lstat (symlinks count as themselves), counts a hardlinked inode
    once and leaves directories out, so the number matches what the tree's
    files hold rather than the filesystem's block accounting.
    """
    total = 0
    seen: set[tuple[int, int]] = set()
    stack = [path]
    while stack:
        directory = stack.pop()
        try:
            entries = os.scandir(directory)
        except FileNotFoundError:
            continue
        with entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(entry.path)
                    continue
                if st.st_nlink > 1:
                    inode = (st.st_dev, st.st_ino)
                    if inode in seen:
                        continue
                    seen.add(inode)
                total += st.st_size
    return total


def remove_tree(path: str) -> None:
    """Delete ``path`` and everything under it; a tree already (partly) gone is fine,
    so two cleanups racing over the same leftovers both succeed."""
    def on_error(_func: object, _failed: str, exc_info: tuple) -> None:
        if not isinstance(exc_info[1], FileNotFoundError):
            raise exc_info[1]

    import shutil  # with its archive modules, milliseconds that most commands never need

    shutil.rmtree(path, onerror=on_error)


def copy_tree(source: str, destination: str) -> None:
    """Copy ``source`` to the new path ``destination`` keeping everything a layer holds.

    ``cp -a`` keeps owners, modes, times, xattrs, device nodes, sockets, fifos
    and hardlinks within the tree, and ``--reflink=auto`` shares extents where
    the filesystem can (btrfs, xfs), making the copy nearly free there.
    """
    import subprocess

    proc = subprocess.run(
        ["cp", "-a", "--reflink=auto", "--no-target-directory", source, destination],
        capture_output=True, text=True)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["unknown error"])[0]
        raise EngineError(f"cannot copy snapshot {source} to {destination}: {first}")
