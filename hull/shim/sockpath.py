"""Unix socket paths that fit: sun_path holds 107 bytes, container paths can be longer.

A long path is reached through its directory's descriptor, ``/proc/<pid>/fd/<n>/name``,
which the kernel resolves like the real path.  ``for_others`` uses this process's pid, so
another process (runc, a container's init) can connect while the descriptor stays open.
"""

from __future__ import annotations

import contextlib
import os
from _collections_abc import Iterator

MAX_PATH = 100


@contextlib.contextmanager
def unix_path(path: str, for_others: bool = False) -> Iterator[str]:
    if len(path.encode()) < MAX_PATH:
        yield path
        return
    fd = os.open(os.path.dirname(path) or ".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        owner = str(os.getpid()) if for_others else "self"
        yield f"/proc/{owner}/fd/{fd}/{os.path.basename(path)}"
    finally:
        os.close(fd)
