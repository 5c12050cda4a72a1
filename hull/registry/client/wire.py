"""HTTP/1.1 on one socket: writing a request, reading a response's head and framing its body.

Written over ``socket`` because ``http.client`` imports the ``email`` package (tens of
milliseconds in every ``hull push`` and ``hull pull``) and reads bodies through an
extra buffered copy.  Only what a registry client needs: requests with a fixed length
or chunked bodies; responses framed by Content-Length, chunked transfer coding or the
end of the connection; interim 1xx responses skipped.  Anything malformed is a
:class:`ProtocolError`, never a hang or a silently short body.
"""

from __future__ import annotations

import socket
from typing import BinaryIO

BLOCK = 1 << 20
HEAD_READ = 64 * 1024
MAX_LINE = 64 * 1024
MAX_HEADERS = 256
SMALL_BODY = 64 * 1024  # bodies up to this size go out in the same write as the head
_NO_BODY_STATUSES = frozenset({204, 304})
_BAD_TARGET_CHARS = frozenset(chr(c) for c in (*range(0x21), 0x7F))


class ProtocolError(OSError):
    """The peer broke HTTP/1.1 framing or the connection ended inside a response."""


class Headers:
    """Response header fields: case-insensitive lookup, the first value of a repeated field."""

    __slots__ = ("_fields",)

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        self._fields = fields

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for key, value in self._fields:
            if key.lower() == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self._fields if key.lower() == name]

    def items(self) -> list[tuple[str, str]]:
        return list(self._fields)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"


def check_target(target: str) -> None:
    """Refuse a request target with spaces or control characters (request splitting)."""
    if any(c in _BAD_TARGET_CHARS for c in target):
        raise ValueError(f"invalid character in request target {target!r}")


def request_head(method: str, target: str, host: str, headers: dict[str, str],
                 body: bytes | BinaryIO | None) -> tuple[bytes, bool]:
    """The request line and header block, and whether the body goes out chunked (a stream
    without Content-Length).  Targets and header values that could split the request are
    refused with ValueError before anything is sent."""
    check_target(target)
    streamed = body is not None and not isinstance(body, bytes | bytearray | memoryview)
    chunked = streamed and not _has(headers, "Content-Length")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    if chunked:
        headers = {**headers, "Transfer-Encoding": "chunked"}
    for name, value in headers.items():
        value = str(value)
        if "\r" in name or "\n" in name or ":" in name or "\r" in value or "\n" in value:
            raise ValueError(f"invalid header {name!r}")
        lines.append(f"{name}: {value}")
    lines.append("\r\n")
    return "\r\n".join(lines).encode("latin-1"), chunked


class Connection:
    """One client connection; a request and its response at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()  # received, not yet consumed
        self.closed = False

    @classmethod
    def open(cls, scheme: str, netloc: str, timeout: float, ssl_context=None  # type: ignore[no-untyped-def]
             ) -> Connection:
        hostname, port = split_netloc(netloc, 443 if scheme == "https" else 80)
        sock = socket.create_connection((hostname, port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if ssl_context is not None:
                sock = ssl_context.wrap_socket(sock, server_hostname=hostname)
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()

    # ---- request --------------------------------------------------------------------

    def send_request(self, head: bytes, body: bytes | BinaryIO | None, chunked: bool) -> None:
        """Write a request made by :func:`request_head` and its body."""
        if body is None or isinstance(body, bytes | bytearray | memoryview):
            data = bytes(body or b"")
            if len(data) <= SMALL_BODY:
                self.sock.sendall(head + data)
            else:
                self.sock.sendall(head)
                self.sock.sendall(data)
            return
        pending = head  # the head goes out with the first piece of the body
        done = False
        while not done:
            data = body.read(BLOCK)
            if data:
                piece = b"%x\r\n" % len(data) + bytes(data) + b"\r\n" if chunked else data
            else:
                piece, done = (b"0\r\n\r\n" if chunked else b""), True
            if pending and len(piece) <= SMALL_BODY:
                self.sock.sendall(pending + bytes(piece))
            else:
                if pending:
                    self.sock.sendall(pending)
                if piece:
                    self.sock.sendall(piece)
            pending = b""

    # ---- response head --------------------------------------------------------------

    def read_head(self, method: str) -> tuple[int, Headers, Body]:
        """Status, headers and a reader of the body; interim (1xx) responses are skipped."""
        while True:
            line = self._readline()
            if not line:
                raise ProtocolError("the server closed the connection without answering")
            version, status = _parse_status(line)
            headers = self._read_headers()
            if 100 <= status < 200 and status != 101:
                continue
            return status, headers, self._body(method, status, version, headers)

    def _read_headers(self) -> Headers:
        fields: list[tuple[str, str]] = []
        while True:
            line = self._readline()
            if not line:
                raise ProtocolError("the connection ended inside the response headers")
            if line in (b"\r\n", b"\n"):
                return Headers(fields)
            if len(fields) >= MAX_HEADERS:
                raise ProtocolError("too many response headers")
            text = line.decode("latin-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and fields:  # obsolete line folding
                name, value = fields[-1]
                fields[-1] = (name, f"{value} {text.strip()}")
                continue
            name, sep, value = text.partition(":")
            if not sep or not name or name != name.strip():
                raise ProtocolError(f"malformed response header {text[:80]!r}")
            fields.append((name, value.strip()))

    def _body(self, method: str, status: int, version: str, headers: Headers) -> Body:
        connection = (headers.get("Connection") or "").lower()
        will_close = "close" in connection or (version == "HTTP/1.0" and
                                               "keep-alive" not in connection)
        if method == "HEAD" or status in _NO_BODY_STATUSES or status < 200:
            return Body(self, 0, False, will_close)
        coding = (headers.get("Transfer-Encoding") or "").lower()
        if coding:
            if coding.rsplit(",", 1)[-1].strip() != "chunked":
                return Body(self, None, False, True)  # delimited by the end of the connection
            return Body(self, None, True, will_close)
        lengths = {v.strip() for v in headers.get_all("Content-Length")}
        if not lengths:
            return Body(self, None, False, True)
        if len(lengths) > 1 or not next(iter(lengths)).isdigit():
            raise ProtocolError(f"invalid Content-Length {sorted(lengths)}")
        return Body(self, int(next(iter(lengths))), False, will_close)

    # ---- buffered reading -----------------------------------------------------------

    def _readline(self) -> bytes:
        """One line including its end (b"" at the end of the connection)."""
        start = 0
        while True:
            end = self._buf.find(b"\n", start)
            if end >= 0:
                line = bytes(self._buf[:end + 1])
                del self._buf[:end + 1]
                return line
            if len(self._buf) > MAX_LINE:
                raise ProtocolError("response line too long")
            start = len(self._buf)
            if not self._fill():
                line = bytes(self._buf)
                self._buf.clear()
                return line

    def _fill(self) -> bool:
        data = self.sock.recv(HEAD_READ)
        if not data:
            return False
        self._buf += data
        return True

    def recv_exact(self, n: int) -> bytes:
        """Up to ``n`` bytes, fewer only if the connection ends first."""
        if len(self._buf) >= n:
            data = bytes(self._buf[:n])
            del self._buf[:n]
            return data
        out = bytearray(n)
        view = memoryview(out)
        got = len(self._buf)
        view[:got] = self._buf
        self._buf.clear()
        while got < n:
            count = self.sock.recv_into(view[got:])
            if not count:
                break
            got += count
        view.release()
        if got < n:
            del out[got:]
        return bytes(out)

    def recv_some(self, n: int) -> bytes:
        """What one receive gives (at most ``n`` bytes); b"" at the end of the connection."""
        if self._buf:
            data = bytes(self._buf[:n])
            del self._buf[:n]
            return data
        return self.sock.recv(n)


class Body:
    """The body of one response, read as its framing says."""

    def __init__(self, conn: Connection, length: int | None, chunked: bool,
                 will_close: bool) -> None:
        self._conn = conn
        self.remaining = length  # bytes left (fixed length) or None
        self.chunked = chunked
        self.will_close = will_close
        self._chunk_left = 0
        self._cut = False
        self.done = length == 0

    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes (n > 0), fewer only at the end of the body; b"" once it is over."""
        if self.done:
            return b""
        if self.chunked:
            return self._read_chunked(n)
        if self.remaining is None:  # until the connection ends
            data = self._conn.recv_exact(n)
            if len(data) < n:
                self.done = True
            return data
        if self._cut:
            raise ProtocolError(f"the connection ended {self.remaining} bytes before the end "
                                "of the body")
        want = min(n, self.remaining)
        data = self._conn.recv_exact(want)
        self.remaining -= len(data)
        if len(data) < want:
            # Hand over what came (a download resumes from there); the next read fails.
            self._cut = True
            if not data:
                return self.read(n)
            return data
        if not self.remaining:
            self.done = True
        return data

    def _read_chunked(self, n: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        while size < n:
            if not self._chunk_left:
                self._chunk_left = self._next_chunk_size()
                if not self._chunk_left:
                    self._read_trailers()
                    self.done = True
                    break
            data = self._conn.recv_exact(min(n - size, self._chunk_left))
            if not data:
                raise ProtocolError("the connection ended inside a chunk")
            parts.append(data)
            size += len(data)
            self._chunk_left -= len(data)
            if not self._chunk_left:
                self._expect_crlf()
        return b"".join(parts)

    def _next_chunk_size(self) -> int:
        line = self._conn._readline()
        if not line.endswith(b"\n"):
            raise ProtocolError("the connection ended before a chunk size")
        text = line.split(b";", 1)[0].strip()
        try:
            size = int(text, 16)
        except ValueError:
            raise ProtocolError(f"malformed chunk size {text[:20]!r}") from None
        if size < 0:
            raise ProtocolError("negative chunk size")
        return size

    def _expect_crlf(self) -> None:
        if self._conn._readline() not in (b"\r\n", b"\n"):
            raise ProtocolError("a chunk does not end with CRLF")

    def _read_trailers(self) -> None:
        for _ in range(MAX_HEADERS):
            line = self._conn._readline()
            if not line:
                raise ProtocolError("the connection ended inside the chunked trailer")
            if line in (b"\r\n", b"\n"):
                return
        raise ProtocolError("too many trailer fields")


def _parse_status(line: bytes) -> tuple[str, int]:
    text = line.decode("latin-1").rstrip("\r\n")
    version, _, rest = text.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit() or (
            rest[3:4] not in ("", " ")):
        raise ProtocolError(f"malformed status line {text[:80]!r}")
    return version, int(code)


def _has(headers: dict[str, str], name: str) -> bool:
    name = name.lower()
    return any(k.lower() == name for k in headers)


def split_netloc(netloc: str, default_port: int) -> tuple[str, int]:
    """``host:port`` / ``[::1]:5000`` / ``host`` -> (host, port)."""
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif netloc.count(":") == 1:
        host, port = netloc.split(":")
    else:
        host, port = netloc, ""
    if not port:
        return host, default_port
    if not port.isdigit() or int(port) > 65535:
        raise ValueError(f"invalid port in {netloc!r}")
    return host, int(port)
