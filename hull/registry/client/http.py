"""HTTP/1.1 over pooled keep-alive connections, safe to use from several threads.

Each request borrows a connection for as long as its response is being read and
returns it once the body has been read to the end; a response abandoned halfway
closes its connection instead, so a pooled connection is always clean.
Redirects (blob downloads are often redirected to storage) are followed, and an
``Authorization`` header is never sent to another host.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable
from typing import BinaryIO
from urllib.parse import urljoin, urlsplit

from hull.errors import EngineError

BLOCK = 1 << 20
TIMEOUT = 60.0
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)


class RegistryUnreachable(EngineError):
    """No connection could be made, or it broke before an answer came."""


class Response:
    """Status, headers and a body readable once, as a whole or as a stream."""

    def __init__(self, url: str, raw: http.client.HTTPResponse,
                 release: Callable[[bool], None]) -> None:
        self.url = url
        self.status = raw.status
        self.headers = raw.headers
        self._raw = raw
        self._release: Callable[[bool], None] | None = release

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name, default)

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes of the body (all of it if ``n`` < 0); b"" at the end."""
        try:
            data = self._raw.read() if n < 0 else self._raw.read(n)
        except (OSError, http.client.HTTPException):
            self._finish(reusable=False)
            raise
        if (n < 0 or not data) and self._release is not None:
            self._finish(reusable=not self._raw.will_close)
        return data

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Done with the response; an unread body costs its connection."""
        if self._release is not None:
            self._finish(reusable=self._raw.isclosed() and not self._raw.will_close)

    def _finish(self, reusable: bool) -> None:
        release, self._release = self._release, None
        if release is not None:
            release(reusable and self._raw.isclosed())

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HttpClient:
    """A pool of connections per (scheme, host)."""

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._idle: dict[tuple[str, str], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._ssl_context = None

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
        if body is not None and isinstance(body, bytes | bytearray):
            headers.setdefault("Content-Length", str(len(body)))
        elif body is None and method in ("POST", "PUT", "PATCH"):
            headers.setdefault("Content-Length", "0")
        for attempt in range(2):
            conn, reused = self._connection(key)
            try:
                conn.request(method, target, body=body, headers=headers)
                raw = conn.getresponse()
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
                    http.client.BadStatusLine) as e:
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
            if method == "HEAD":
                raw.read()

            def release(reusable: bool, conn: http.client.HTTPConnection = conn) -> None:
                if reusable:
                    with self._lock:
                        self._idle.setdefault(key, []).append(conn)
                else:
                    conn.close()

            response = Response(url, raw, release)
            if method == "HEAD" or raw.length == 0:
                response.read()
            return response
        raise AssertionError("unreachable")

    def _connection(self, key: tuple[str, str]) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop(), True
        scheme, netloc = key
        if scheme == "https":
            return http.client.HTTPSConnection(netloc, timeout=self.timeout,
                                               context=self._ssl(), blocksize=BLOCK), False
        if scheme != "http":
            raise RegistryUnreachable(f"unsupported URL scheme {scheme!r}")
        return http.client.HTTPConnection(netloc, timeout=self.timeout, blocksize=BLOCK), False

    def _ssl(self):  # type: ignore[no-untyped-def]
        if self._ssl_context is None:
            import ssl

            self._ssl_context = ssl.create_default_context()
        return self._ssl_context


def _describe(method: str, url: str, error: OSError) -> str:
    reason = error.strerror or str(error) or type(error).__name__
    if isinstance(error, socket.gaierror):
        reason = f"cannot resolve host: {error.strerror}"
    elif type(error).__name__.startswith("SSL"):
        reason = f"TLS failed: {error}"
    elif isinstance(error, ConnectionRefusedError):
        reason = "connection refused"
    return f'{method} "{url}": {reason.lower() if reason[:1].isupper() else reason}'
