"""Authenticated requests to one registry, with the registry's errors made readable.

:class:`RegistrySession` drives the I/O-free :class:`hull.registry.auth.Authenticator`:
it fetches tokens when the authenticator asks for them, sends the header it
chooses, and on a 401 lets it learn from the challenge and retries (a body that
is a stream is reopened through a callable, so uploads can be retried too).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import BinaryIO

from hull.errors import HullError, InvalidArgument, NotFound
from hull.registry.auth import Authenticator, Credentials, Unauthorized
from hull.registry.client.endpoint import Endpoint
from hull.registry.client.http import HttpClient, RegistryUnreachable, Response

MAX_AUTH_ROUNDS = 3
Body = bytes | Callable[[], BinaryIO] | None


class RegistryError(HullError):
    """The registry answered with an error (its code and message, in one line)."""

    def __init__(self, message: str, status: int = 0, codes: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.codes = codes


class RegistryNotFound(RegistryError, NotFound):
    """A manifest, blob or repository the registry does not have."""


class Denied(RegistryError, Unauthorized):
    """The registry refused access to the resource."""


class RegistryInvalid(RegistryError, InvalidArgument):
    """The registry refused a name or document as malformed."""


def error_from(response: Response, what: str) -> RegistryError:
    """A one-line error from a registry's error response (spec-shaped body or not)."""
    body = b""
    try:
        body = response.read(64 * 1024)
    except (OSError, HullError):
        pass
    finally:
        response.close()
    codes: list[str] = []
    messages: list[str] = []
    try:
        doc = json.loads(body)
        for err in doc.get("errors") or []:
            code = str(err.get("code", "")).upper()
            codes.append(code)
            message = str(err.get("message", "") or code.lower().replace("_", " "))
            messages.append(f"{code.lower().replace('_', ' ')}: {message}" if code else message)
    except (ValueError, AttributeError, TypeError):
        pass
    status = response.status
    detail = "; ".join(messages) if messages else f"HTTP {status}"
    if len(detail) > 300:
        detail = detail[:300] + "..."
    text = f"{what}: {detail}" if what else detail
    cls = RegistryError
    if status == 404 or {"MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_UNKNOWN"} & set(codes):
        cls = RegistryNotFound
    elif status in (401, 403) or "DENIED" in codes or "UNAUTHORIZED" in codes:
        cls = Denied
    elif status == 400 and "NAME_INVALID" in codes:
        cls = RegistryInvalid
    return cls(text, status, tuple(codes))


class RegistrySession:
    """Requests to one registry endpoint with authentication handled."""

    def __init__(self, endpoint: Endpoint, credentials: Credentials | None = None,
                 http: HttpClient | None = None) -> None:
        self.endpoint = endpoint
        self.http = http or HttpClient()
        self.auth = Authenticator(credentials, endpoint.registry)
        self._auth_lock = threading.Lock()
        self._pinged = False
        #: Whether the registry stores a blob sent whole with ``POST ?digest=`` (None: not
        #: known yet).  Learned by the first small upload.
        self.monolithic_uploads: bool | None = None

    def url(self, path: str) -> str:
        return path if "://" in path else self.endpoint.base_url + path

    def ping(self) -> Response:
        """``GET /v2/``: learns the authentication scheme before the first real request."""
        response = self.http.request("GET", self.url("/v2/"))
        if response.status == 401:
            self.auth.unauthorized(response.header("WWW-Authenticate"), [], None)
        self._pinged = True
        response.read()
        return response

    def request(self, method: str, path: str, scopes: list[str], headers: dict[str, str] | None
                = None, body: Body = None, follow_redirects: bool = True) -> Response:
        """Send a request needing ``scopes``; authentication is added and renewed as needed."""
        if not self._pinged:
            with self._auth_lock:
                if not self._pinged:
                    self.ping()
        url = self.url(path)
        sent: str | None = None
        for _ in range(MAX_AUTH_ROUNDS):
            with self._auth_lock:
                token_request = self.auth.token_request(scopes)
                if token_request is not None:
                    self._fetch_token(token_request, scopes)
                sent = self.auth.header(scopes)
            hdrs = dict(headers or {})
            if sent:
                hdrs["Authorization"] = sent
            payload = body() if callable(body) else body
            try:
                response = self.http.request(method, url, hdrs, payload, follow_redirects)
            finally:
                if callable(body) and payload is not None and hasattr(payload, "close"):
                    payload.close()
            if response.status != 401:
                return response
            challenge = response.header("WWW-Authenticate")
            response.read()
            with self._auth_lock:
                if not self.auth.unauthorized(challenge, scopes, sent):
                    break
        raise Denied(self.auth.refused_message(), 401, ("UNAUTHORIZED",))

    def _fetch_token(self, token_request, scopes: list[str]) -> None:  # type: ignore[no-untyped-def]
        try:
            response = self.http.request(token_request.method, token_request.url,
                                         token_request.headers, token_request.body)
        except RegistryUnreachable as e:
            raise RegistryUnreachable(f"token server: {e}") from None
        body = response.read(1 << 20)
        response.close()
        self.auth.accept_token(token_request, scopes, response.status, body)

    def login(self, scopes: list[str] | None = None) -> None:
        """Prove the credentials work: ping, then authenticate one request to ``/v2/``."""
        self.ping()
        challenge = self.auth.challenge
        if challenge is None:
            return  # the registry needs no authentication
        if not (self.auth.credentials.has_password or self.auth.credentials.identity_token):
            raise Unauthorized(self.auth.refused_message())
        response = self.request("GET", "/v2/", scopes or [])
        response.read()
        if response.status != 200:
            raise error_from(response, "login")
