"""Whether a process still exists, for files that carry their writer's pid in their names.

Temp files, half-unpacked layers and build scratch directories are named after the process
writing them, so the next command can tell a crashed writer's leftovers from work in progress.
"""

from __future__ import annotations

import os


def pid_alive(pid: int) -> bool:
    """True while a process with ``pid`` exists (also one this process may not signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
