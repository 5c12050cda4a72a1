"""The one lock builder threads share around fork() and output.

A RUN step forks the runtime's init; a thread holding a lock at that moment (say, one
writing progress) would leave the lock held forever in the child.  Progress output and
forking both take this lock, so they never overlap.
"""

from __future__ import annotations

import threading

FORK_LOCK = threading.RLock()
