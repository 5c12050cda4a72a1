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

#: Bytes that need escaping, apart from the newline that ends each entry.
_SPECIAL = bytes(i for i in range(0x20) if i != 0x0A) + b'"\\<>&'


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
    """Appends a container's output to its json-file log, rotating it by size.

    ``max_size`` (bytes, 0 = unlimited) and ``max_file`` follow ``--log-opt``: when the
    current file passes max_size it becomes ``<log>.1``, older ones shift up and the oldest
    beyond ``max_file`` files is dropped, as Docker's json-file driver does.  ``path`` None
    with ``fd`` None is the ``none`` driver: output is only passed to attached clients.
    """

    def __init__(self, path: str | None = None, fd: int | None = None,
                 pending: dict[str, bytes] | None = None, max_size: int = 0,
                 max_file: int = 1, written: int = 0) -> None:
        self.path = path
        if fd is None and path is not None:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)
            written = os.fstat(fd).st_size
        self.fd = -1 if fd is None else fd
        self.pending: dict[str, bytes] = pending or {"stdout": b"", "stderr": b""}
        self.max_size = max_size
        self.max_file = max(1, max_file)
        self.written = written

    def write(self, stream: str, data: bytes) -> None:
        if self.fd < 0:
            return
        buf = self.pending[stream] + data
        cut = buf.rfind(b"\n") + 1
        complete, rest = buf[:cut], buf[cut:]
        out = b""
        if complete:
            if complete.count(b"\n") > 1 and max(map(len, complete.split(b"\n"))) < MAX_LINE:
                out = _encode_lines(complete, stream)
            else:
                out = b"".join(self._pieces(complete, stream))
        while len(rest) >= MAX_LINE:
            out += encode(rest[:MAX_LINE], stream)
            rest = rest[MAX_LINE:]
        self.pending[stream] = rest
        if out:
            self._append(out)

    @staticmethod
    def _pieces(buf: bytes, stream: str) -> list[bytes]:
        out = []
        when = now_rfc3339_nano()
        while buf:
            cut = buf.find(b"\n")
            end = len(buf) if cut < 0 else cut + 1
            if end > MAX_LINE:
                end = MAX_LINE
            out.append(encode(buf[:end], stream, when))
            buf = buf[end:]
        return out

    def _append(self, out: bytes) -> None:
        """Write whole entries; with max_size, rotate before an entry that would not fit."""
        while out:
            piece = out
            if self.max_size and self.written + len(out) > self.max_size:
                cut = out.rfind(b"\n", 0, max(self.max_size - self.written, 0)) + 1
                if cut == 0:
                    if self.written:
                        self._rotate()
                        continue
                    cut = out.find(b"\n") + 1 or len(out)  # one entry larger than max_size
                piece = out[:cut]
            os.write(self.fd, piece)
            self.written += len(piece)
            out = out[len(piece):]

    def _rotate(self) -> None:
        assert self.path is not None
        os.close(self.fd)
        for n in range(self.max_file - 1, 0, -1):  # max_file 1: the file is truncated
            source = self.path if n == 1 else f"{self.path}.{n - 1}"
            try:
                os.replace(source, f"{self.path}.{n}")
            except FileNotFoundError:
                pass
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        self.fd = os.open(self.path, flags | (os.O_TRUNC if self.max_file == 1 else 0), 0o640)
        self.written = 0

    def flush(self, stream: str) -> None:
        """The stream ended: write what is left of its last line."""
        rest = self.pending[stream]
        self.pending[stream] = b""
        if rest and self.fd >= 0:
            self._append(encode(rest, stream))

    def close(self) -> None:
        for stream in self.pending:
            self.flush(stream)
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _encode_lines(buf: bytes, stream: str) -> bytes:
    """Many complete lines (each shorter than MAX_LINE) in one pass: each newline becomes the
    end of one entry and the start of the next, so the work is a few whole-buffer operations
    instead of a few per line.  Plain ASCII without characters to escape (the common case)
    needs only bytes.replace; anything else is escaped with one str.translate."""
    when = now_rfc3339_nano()
    glue = f'\\n","stream":"{stream}","time":"{when}"}}\n{{"log":"'
    if buf.isascii() and len(buf.translate(None, _SPECIAL)) == len(buf):
        return b'{"log":"' + buf.replace(b"\n", glue.encode())[:-8]
    table = dict(_ESCAPES)
    table[ord("\n")] = glue
    text = buf.decode("utf-8", errors="replace").translate(table)
    return ('{"log":"' + text[:-8]).encode()


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
