"""Docker's json-file log driver format: one JSON object per line of output.

``{"log":"hello\\n","stream":"stdout","time":"2024-01-02T15:04:05.123456789Z"}``.  Output is
cut at newlines; a line longer than 16 KiB is written in 16 KiB pieces (as Docker does) and a
last line without a newline is written as it is when the stream ends.

Encoding is done by hand (Go's escaping rules, non-ASCII kept) so that a waiting shim does
not need the json module in memory.
"""

from __future__ import annotations

import os
import time

MAX_LINE = 16 * 1024
_ESCAPES = {i: f"\\u{i:04x}" for i in range(0x20)}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", ord('"'): '\\"',
                 ord("\\"): "\\\\", ord("<"): "\\u003c", ord(">"): "\\u003e",
                 ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def now_rfc3339_nano() -> str:
    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    digits = f"{frac:09d}".rstrip("0")
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + \
        ("." + digits if digits else "") + "Z"


def encode(line: bytes, stream: str, when: str | None = None) -> bytes:
    text = line.decode("utf-8", errors="replace").translate(_ESCAPES)
    return (f'{{"log":"{text}","stream":"{stream}","time":"{when or now_rfc3339_nano()}"}}\n'
            ).encode()


class JsonLog:
    """Appends the output of one container run to its json-file log."""

    def __init__(self, path: str | None = None, fd: int | None = None,
                 pending: dict[str, bytes] | None = None) -> None:
        if fd is None:
            assert path is not None
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
        self.fd = fd
        self.pending: dict[str, bytes] = pending or {"stdout": b"", "stderr": b""}

    def write(self, stream: str, data: bytes) -> None:
        buf = self.pending[stream] + data
        out = []
        when = now_rfc3339_nano()
        while True:
            cut = buf.find(b"\n")
            if cut < 0 or cut >= MAX_LINE:
                if len(buf) >= MAX_LINE:
                    out.append(encode(buf[:MAX_LINE], stream, when))
                    buf = buf[MAX_LINE:]
                    continue
                break
            out.append(encode(buf[:cut + 1], stream, when))
            buf = buf[cut + 1:]
        self.pending[stream] = buf
        if out:
            os.write(self.fd, b"".join(out))

    def flush(self, stream: str) -> None:
        """The stream ended: write what is left of its last line."""
        rest = self.pending[stream]
        self.pending[stream] = b""
        if rest:
            os.write(self.fd, encode(rest, stream))

    def close(self) -> None:
        for stream in self.pending:
            self.flush(stream)
        os.close(self.fd)


def read_log(path: str) -> list[tuple[str, str, str]]:
    """(stream, text, time) of every entry in a json-file log (missing file: none)."""
    import json

    out = []
    try:
        with open(path, "rb") as f:
            for raw in f:
                try:
                    entry = json.loads(raw)
                except ValueError:
                    continue
                out.append((entry.get("stream", "stdout"), entry.get("log", ""),
                            entry.get("time", "")))
    except FileNotFoundError:
        pass
    return out
