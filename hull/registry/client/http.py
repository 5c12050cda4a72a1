"""HTTP/1.1 over pooled keep-alive connections, safe to use from several threads.

Each request borrows a connection for as long as its response is being read and
returns it once the body has been read to the end; a response abandoned halfway
closes its connection instead, so a pooled connection is always clean.
Redirects (blob downloads are often redirected to storage) are followed, and an
``Authorization`` header is never sent to another host.  The protocol itself is
in :mod:`hull.registry.client.wire`.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

from hull import __version__
from hull.errors import EngineError
from hull.registry.client.wire import Body, Connection, Headers, ProtocolError, request_head

BLOCK = 1 << 20
TIMEOUT = 60.0
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
_STALE = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError, ProtocolError)
USER_AGENT = f"hull/{__version__}"


class RegistryUnreachable(EngineError):
    """No connection could be made, or it broke before an answer came."""


class Response:
    """Status, headers and a body readable once, as a whole or as a stream."""

    def __init__(self, url: str, status: int, headers: Headers, body: Body,
                 release: Callable[[bool], None]) -> None:
        self.url = url
        self.status = status
        self.headers = headers
        self._body = body
        self._release: Callable[[bool], None] | None = release
        if body.done:
            self._finish(reusable=not body.will_close)

    @property
    def will_close(self) -> bool:
        return self._body.will_close

    def header(self, name: str, default: str = "") -> str:
        value = self.headers.get(name)
        return default if value is None else value

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes of the body (all of it if ``n`` < 0); b"" at the end.

        Fewer than ``n`` bytes only at the end of the body.
        """
        if self._release is None and not self._body.done:
            raise RegistryUnreachable(f"{self.url}: the response was closed before its body "
                                      "was read")
        try:
            if n < 0:
                parts = []
                while chunk := self._body.read(BLOCK):
                    parts.append(chunk)
                data = b"".join(parts)
            else:
                data = self._body.read(n) if n else b""
        except OSError as e:
            self._finish(reusable=False)
            if isinstance(e, TimeoutError):
                raise RegistryUnreachable(f"{self.url}: timed out reading the body") from None
            raise RegistryUnreachable(f"{self.url}: connection broken: {e}") from None
        if self._body.done:
            self._finish(reusable=not self._body.will_close)
        return data

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Done with the response; an unread body costs its connection."""
        self._finish(reusable=False)

    def _finish(self, reusable: bool) -> None:
        release, self._release = self._release, None
        if release is not None:
            release(reusable and self._body.done)

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HttpClient:
    """A pool of connections per (scheme, host)."""

    def __init__(self, timeout: float = TIMEOUT, ssl_context=None) -> None:  # type: ignore[no-untyped-def]
        """``ssl_context``: how HTTPS servers are verified (default: the system's CAs)."""
        self.timeout = timeout
        self._idle: dict[tuple[str, str], list[Connection]] = {}
        self._lock = threading.Lock()
        self._ssl_context = ssl_context

    def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                body: bytes | BinaryIO | None = None, follow_redirects: bool = True) -> Response:
        """Send a request; returns the response with its body still unread."""
        headers = dict(headers or {})
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(method, url, headers, body)
            if not (follow_redirects and response.status in _REDIRECTS
                    and method in ("GET", "HEAD")):
                return response
            location = response.header("Location")
            response.read()
            if not location:
                return response
            target = urljoin(url, location)
            if urlsplit(target).netloc != urlsplit(url).netloc:
                headers.pop("Authorization", None)
            url = target
        raise RegistryUnreachable(f"{method} {url}: too many redirects")

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()

    # ---- connections ----------------------------------------------------------------

    def _send(self, method: str, url: str, headers: dict[str, str],
              body: bytes | BinaryIO | None) -> Response:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        try:
            head, chunked = request_head(method, target, parts.netloc,
                                         _with_defaults(method, headers, body), body)
        except ValueError as e:
            raise RegistryUnreachable(f"{method} {url}: {e}") from None
        for attempt in range(2):
            conn, reused = self._connection(key, method, url)
            try:
                conn.send_request(head, body, chunked)
                status, response_headers, response_body = conn.read_head(method)
            except _STALE as e:
                conn.close()
                # A kept-alive connection the server had already closed: try a fresh one,
                # unless the body was a stream that cannot be sent again.
                if reused and attempt == 0 and not hasattr(body, "read"):
                    continue
                raise RegistryUnreachable(f"{method} {url}: connection broken: {e}") from None
            except TimeoutError:
                conn.close()
                raise RegistryUnreachable(f"{method} {url}: timed out") from None
            except OSError as e:
                conn.close()
                raise RegistryUnreachable(_describe(method, url, e)) from None
            except BaseException:
                conn.close()
                raise

            def release(reusable: bool, conn: Connection = conn) -> None:
                if reusable:
                    with self._lock:
                        self._idle.setdefault(key, []).append(conn)
                else:
                    conn.close()

            return Response(url, status, response_headers, response_body, release)
        raise AssertionError("unreachable")

    def _connection(self, key: tuple[str, str], method: str, url: str
                    ) -> tuple[Connection, bool]:
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), True
        scheme, netloc = key
        if scheme not in ("http", "https"):
            raise RegistryUnreachable(f"unsupported URL scheme {scheme!r}")
        try:
            return Connection.open(scheme, netloc, self.timeout,
                                   self._ssl() if scheme == "https" else None), False
        except TimeoutError:
            raise RegistryUnreachable(f"{method} {url}: timed out") from None
        except OSError as e:  # before ValueError: a failed certificate check is both
            raise RegistryUnreachable(_describe(method, url, e)) from None
        except ValueError as e:
            raise RegistryUnreachable(f"{method} {url}: {e}") from None

    def _ssl(self):  # type: ignore[no-untyped-def]
        if self._ssl_context is None:
            import ssl

            self._ssl_context = ssl.create_default_context()
        return self._ssl_context


def _with_defaults(method: str, headers: dict[str, str], body: bytes | BinaryIO | None
                   ) -> dict[str, str]:
    """The caller's headers plus User-Agent, identity encoding and the body's length."""
    out = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    lower = {k.lower() for k in headers}
    for name in list(out):
        if name.lower() in lower:
            del out[name]
    out.update(headers)
    if "content-length" not in lower:
        if isinstance(body, bytes | bytearray):
            out["Content-Length"] = str(len(body))
        elif body is None and method in ("POST", "PUT", "PATCH"):
            out["Content-Length"] = "0"
    return out


def _describe(method: str, url: str, error: OSError) -> str:
    reason = error.strerror or str(error) or type(error).__name__
    if isinstance(error, socket.gaierror):
        reason = f"cannot resolve host: {error.strerror}"
    elif getattr(error, "verify_message", None):
        reason = f"TLS failed: certificate verify failed: {error.verify_message}"  # type: ignore[attr-defined]
    elif type(error).__name__.startswith("SSL"):
        reason = f"TLS failed: {error}"
    elif isinstance(error, ConnectionRefusedError):
        reason = "connection refused"
    elif reason[:1].isupper() and reason[1:2].islower():  # "Connection reset by peer"
        reason = reason[0].lower() + reason[1:]
    return f'{method} "{url}": {reason}'
