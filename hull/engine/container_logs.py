"""Reading a container's json-file log: all of it, its tail, a time window, or following it.

The shim writes ``<id>-json.log`` and, with ``--log-opt max-size``, rotates it to
``<id>-json.log.1`` ... ``.N`` (higher is older).  Reading goes oldest file first; following
keeps reading the current file and notices a rotation by the file's inode changing, so lines
written across restarts and rotations all arrive once and in order.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterator

from hull.errors import InvalidArgument
from hull.record import record

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

DRIVERS = ("json-file", "none")
FOLLOW_POLL = 0.05


@record(frozen=True)
class LogEntry:
    stream: str
    data: bytes   # the output as the container wrote it (UTF-8)
    time: str

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")

    @property
    def unix(self) -> float:
        from hull.engine.container_model import parse_time

        return parse_time(self.time)


def log_options(log_config: dict[str, Any] | None) -> tuple[str, int, int]:
    """(driver, max-size in bytes, max-file) from HostConfig.LogConfig, checked as Docker."""
    config = log_config or {}
    driver = config.get("Type") or "json-file"
    if driver not in DRIVERS:
        raise InvalidArgument(f'failed to create the logger: logger: no log driver named'
                              f' \'{driver}\' is registered', exit_code=125)
    opts = dict(config.get("Config") or {})
    if driver == "none" and opts:
        raise InvalidArgument(f"unknown log opt '{sorted(opts)[0]}' for none log driver",
                              exit_code=125)
    unknown = set(opts) - {"max-size", "max-file", "compress", "labels", "env", "tag"}
    if unknown:
        raise InvalidArgument(f"unknown log opt '{sorted(unknown)[0]}' for json-file log"
                              " driver", exit_code=125)
    max_size = 0
    if opts.get("max-size") not in (None, "", "-1"):
        from hull.cli.humanize import parse_size

        max_size = parse_size(str(opts["max-size"]))
    max_file = 1
    if opts.get("max-file") not in (None, ""):
        try:
            max_file = int(opts["max-file"])
        except ValueError:
            raise InvalidArgument(f"invalid max-file: {opts['max-file']}", exit_code=125
                                  ) from None
        if max_file < 1:
            raise InvalidArgument("max-file cannot be less than 1", exit_code=125)
        if max_file > 1 and not max_size:
            raise InvalidArgument("max-file cannot be set without max-size", exit_code=125)
    return driver, max_size, max_file


def log_files(path: str) -> list[str]:
    """The log's files, oldest first (rotated ones have higher numbers)."""
    rotated = []
    n = 1
    while os.path.exists(f"{path}.{n}"):
        rotated.append(f"{path}.{n}")
        n += 1
    return [*reversed(rotated), path]


_HEAD = b'{"log":"'
_STREAM = b'","stream":"'
_TIME = b'","time":"'


def _parse(raw: bytes) -> LogEntry | None:
    """One json-file line.  Lines as hull writes them whose only escape is the final newline
    (nearly all output) are cut apart without a JSON parser; anything else goes to json."""
    if raw.startswith(_HEAD) and raw.endswith(b'"}'):
        mid = raw.rfind(_STREAM)
        at = raw.find(_TIME, mid)
        if mid > 0 and at > 0:
            text = raw[8:mid]
            newline = text.endswith(b"\\n")
            if newline:
                text = text[:-2]
            if b"\\" not in text and b'"' not in text:
                return LogEntry(raw[mid + 12:at].decode(), text + b"\n" if newline else text,
                                raw[at + 10:-2].decode())
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    return LogEntry(doc.get("stream", "stdout"), str(doc.get("log", "")).encode(),
                    doc.get("time", ""))


def current_size(path: str) -> int:
    """Where following starts: the end of the last complete entry in the current file now.

    The shim may be in the middle of a write, so the size can end inside an entry; that
    entry is left for following (or for the next read) rather than cut in two."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            start = max(size - (1 << 20), 0)
            f.seek(start)
            tail = f.read(size - start)
    except FileNotFoundError:
        return 0
    return start + tail.rfind(b"\n") + 1


def read_entries(path: str, limit: int | None = None) -> Iterator[LogEntry]:
    """Every entry, oldest first; of the current file only its first ``limit`` bytes."""
    for name in log_files(path):
        try:
            with open(name, "rb") as f:
                data = f.read(limit) if name == path and limit is not None else f.read()
                for raw in data.splitlines():
                    entry = _parse(raw)
                    if entry is not None:
                        yield entry
        except FileNotFoundError:
            continue


def select_entries(path: str, tail: int | None, since: float | None,
                   until: float | None, limit: int | None = None) -> list[LogEntry]:
    """What ``logs`` prints before following: the time window, then the last ``tail``."""
    entries: Iterator[LogEntry] = read_entries(path, limit)
    if since is not None or until is not None:
        entries = (e for e in entries if (since is None or e.unix >= since)
                   and (until is None or e.unix <= until))
    if tail is None:
        return list(entries)
    return list(deque(entries, maxlen=tail)) if tail > 0 else []


def follow(path: str, offset: int, keep_going: Callable[[], bool],
           until: float | None = None) -> Iterator[LogEntry | None]:
    """Entries appended to the log from byte ``offset`` of its current file on, across
    rotations and restarts.

    None is yielded whenever it waits for more (a moment to flush output).
    Ends when ``keep_going()`` says so (container removed, or stopped for good) and the
    file has been read to its end, or when an entry is newer than ``until``.
    """
    handle = None
    inode = None
    partial = b""
    try:
        while True:
            if handle is None:
                try:
                    handle = open(path, "rb")
                except FileNotFoundError:
                    handle = None
                if handle is not None:
                    inode = os.fstat(handle.fileno()).st_ino
                    if offset and os.fstat(handle.fileno()).st_size >= offset:
                        handle.seek(offset)
                    offset = 0
            if handle is not None:
                chunk = handle.read(1 << 20)
                if not chunk:
                    try:
                        current = os.stat(path)
                        rotated = current.st_ino != inode
                        if not rotated and current.st_size < handle.tell():
                            handle.seek(0)  # truncated in place (max-file=1): start over
                            partial = b""
                            continue
                    except FileNotFoundError:
                        rotated = True
                    if rotated:  # what the old file got before the rename, then the new one
                        chunk = handle.read()
                        handle.close()
                        handle = None
                if chunk:
                    data = partial + chunk
                    cut = data.rfind(b"\n") + 1
                    partial = b"" if handle is None else data[cut:]
                    for raw in data[:cut].splitlines():
                        entry = _parse(raw)
                        if entry is None:
                            continue
                        if until is not None and entry.unix > until:
                            return
                        yield entry
                    continue
                if handle is None:
                    partial = b""
                    continue
            if not keep_going():
                if handle is not None and handle.read(1):
                    handle.seek(-1, os.SEEK_CUR)
                    continue
                return
            yield None
            time.sleep(FOLLOW_POLL)
    finally:
        if handle is not None:
            handle.close()



def container_logs(service: Any, ref: str, follow_logs: bool = False, tail: int | None = None,
                   since: float | None = None,
                   until: float | None = None) -> Iterator[LogEntry | None]:
    """``docker logs``: the selected entries, then (``follow_logs``) new ones as they come,
    until the container is removed or has stopped with no restart to come.  None marks a
    pause in a followed log."""
    from hull.errors import NotFound

    c = service.get(ref)
    driver = (c.host_config.get("LogConfig") or {}).get("Type") or "json-file"
    if driver != "json-file":
        raise InvalidArgument('configured logging driver does not support reading', 1)
    path = service.paths(c.id).log
    offset = current_size(path)
    yield from select_entries(path, tail, since, until, offset)
    if not follow_logs:
        return
    last_check = [0.0, True]

    def keep_going() -> bool:
        now = time.monotonic()
        if now - last_check[0] < 0.25:
            return bool(last_check[1])
        last_check[0] = now
        try:
            current = service.store.get(c.id)
        except NotFound:
            last_check[1] = False
            return False
        from hull.engine.container_model import shim_alive

        alive = current.running or shim_alive(int(current.hull.get("ShimPid") or 0),
                                              int(current.hull.get("ShimStart") or 0))
        last_check[1] = alive
        return alive

    for entry in follow(path, offset, keep_going, until):
        if entry is None or since is None or entry.unix >= since:
            yield entry
