"""Talking to the resolver process of an engine root (and starting it when needed).

The protocol is one JSON line each way over ``<run_root>/network/netd.sock``: the client asks
the process to ``sync`` with the database, the process answers with the errors it met per
container (a published port it could not hold, a namespace it could not enter).  A lock file
makes sure only one process is ever started, and lets a stopping process finish leaving
before a new one starts.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
import time

from hull.errors import EngineError

START_TIMEOUT = 10.0


def directory(run_root: str) -> str:
    return os.path.join(run_root, "network")


def socket_path(run_root: str) -> str:
    return os.path.join(directory(run_root), "netd.sock")


def _request(run_root: str, message: dict) -> dict | None:
    """Send one request; None when no process is listening (or it left mid-way)."""
    path = socket_path(run_root)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        try:
            s.connect(_short(path))
            s.sendall(json.dumps(message).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    return None
                data += chunk
        except (FileNotFoundError, ConnectionError):
            return None
    return json.loads(data)


def _short(path: str) -> str:
    """Unix socket paths are limited to 107 bytes; long ones go through /proc/self/fd."""
    if len(path.encode()) < 100:
        return path
    fd = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
    _held.append(fd)
    return f"/proc/self/fd/{fd}/{os.path.basename(path)}"


_held: list[int] = []


def sync(root: str, run_root: str, spawn: bool) -> dict[str, str]:
    """Make the resolver process match the database; start it first if ``spawn``.

    Returns {container id: error message}."""
    try:
        for _ in range(5):
            reply = _request(run_root, {"op": "sync"})
            if reply is not None:
                return dict(reply.get("errors") or {})
            if not spawn:
                return {}
            _start(root, run_root)
        raise EngineError("the network resolver process does not answer")
    finally:
        while _held:
            os.close(_held.pop())


def notify(run_root: str) -> None:
    """Tell a running resolver process that something was released (never starts one)."""
    with contextlib.suppress(OSError, ValueError):
        _request(run_root, {"op": "sync"})
    while _held:
        os.close(_held.pop())


def _start(root: str, run_root: str) -> None:
    os.makedirs(directory(run_root), mode=0o711, exist_ok=True)
    lock = os.open(os.path.join(directory(run_root), "netd.lock"),
                   os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _request(run_root, {"op": "ping"}) is not None:
            return
        log = os.open(os.path.join(directory(run_root), "netd.log"),
                      os.O_CREAT | os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC, 0o600)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hull.network.netd", root, run_root],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                close_fds=True, cwd="/")
        finally:
            os.close(log)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if _request(run_root, {"op": "ping"}) is not None:
                return
            if proc.poll() is not None:
                raise EngineError("the network resolver process exited at start; see "
                                  + os.path.join(directory(run_root), "netd.log"))
            time.sleep(0.005)
        raise EngineError("the network resolver process did not start")
    finally:
        os.close(lock)
