"""The user's side of a terminal session: raw mode, window size, detach keys.

Shared by ``run -it``/``attach`` (talking to a shim) and ``exec -it`` (holding the pty master
itself).  Docker's detach keys are a sequence of bytes typed on stdin (default Ctrl-P
Ctrl-Q); :class:`DetachKeys` finds them across reads and holds back a possible prefix.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator

from hull.errors import InvalidArgument

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
TIOCGWINSZ = 0x5413
TIOCSWINSZ = 0x5414


def parse_detach_keys(text: str) -> bytes:
    """``ctrl-p,ctrl-q`` -> b"\\x10\\x11" (Docker's grammar: ctrl-[a-z@[\\\\]^_] or one char)."""
    out = bytearray()
    for part in text.split(","):
        key = part.strip()
        if len(key) == 1:
            out.append(ord(key))
            continue
        lowered = key.lower()
        if lowered.startswith("ctrl-") and len(key) == 6:
            ch = lowered[5]
            if "a" <= ch <= "z":
                out.append(ord(ch) - ord("a") + 1)
                continue
            if ch in "@[\\]^_":
                out.append(ord(ch) - 64)
                continue
        raise InvalidArgument(f"Unknown character: '{key}'", exit_code=1)
    return bytes(out)


class DetachKeys:
    """Filter stdin bytes; report when the whole detach sequence was typed."""

    def __init__(self, sequence: bytes) -> None:
        self.sequence = sequence
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to forward, detach?)."""
        if not self.sequence:
            return data, False
        out = bytearray()
        for byte in data:
            candidate = self.held + bytes([byte])
            if not self.sequence.startswith(candidate):
                out += self.held
                candidate = bytes([byte])
                if not self.sequence.startswith(candidate):
                    out += candidate
                    self.held = b""
                    continue
            if candidate == self.sequence:
                self.held = b""
                return bytes(out), True
            self.held = candidate
        return bytes(out), False


def window_size(fd: int = 1) -> tuple[int, int] | None:
    """(rows, columns) of the terminal on ``fd``; None when it is not a terminal."""
    import fcntl

    try:
        raw = fcntl.ioctl(fd, TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None
    rows, cols = struct.unpack("HHHH", raw)[:2]
    return (rows, cols) if rows and cols else None


def set_window_size(fd: int, size: tuple[int, int]) -> None:
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.ioctl(fd, TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))


@contextlib.contextmanager
def raw_mode(fd: int | None) -> Iterator[None]:
    """Put the terminal on ``fd`` in raw mode for the block (nothing if it is no terminal)."""
    if fd is None or not os.isatty(fd):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)  # TCSAFLUSH would drop what was typed ahead
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
