"""Registry authentication as I/O-free flows: anonymous, Basic and Bearer tokens.

A registry says how it wants to be authenticated in the ``WWW-Authenticate``
header of a 401.  :class:`Authenticator` learns from those challenges and tells
the HTTP client what to do next: which ``Authorization`` header to send, or
which token request to make first.  It performs no I/O itself, so every step of
the flow (challenge parsing, token reuse until expiry, refresh after a 401,
scope merging) is testable without a network, and the same logic serves any
HTTP client.

The Bearer flow follows the Docker token specification: ``GET realm?service=
&scope=...`` (with Basic credentials when there are any) returns ``token`` or
``access_token`` and ``expires_in``; an OAuth2 identity token (Docker's
``identitytoken``) is exchanged with ``POST grant_type=refresh_token`` instead.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from hull.errors import HullError
from hull.record import field, record

DEFAULT_TOKEN_LIFETIME = 60  # seconds, when the token server does not say
EXPIRY_MARGIN = 5  # renew a little early so a token never expires in flight
CLIENT_ID = "hull"


class Unauthorized(HullError):
    """The registry refused the credentials (or wants some and there are none)."""


@record(frozen=True)
class Credentials:
    """What a user logged in with; ``identity_token`` is an OAuth2 refresh token."""

    username: str = ""
    password: str = ""
    identity_token: str = ""
    registry_token: str = ""

    def basic_header(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    @property
    def has_password(self) -> bool:
        return bool(self.username or self.password)


@record(frozen=True)
class Challenge:
    """One challenge of a ``WWW-Authenticate`` header: a scheme and its parameters."""

    scheme: str  # lower case: "basic", "bearer"
    params: dict[str, str] = field(default_factory=dict)


@record(frozen=True)
class TokenRequest:
    """An HTTP request the client must make to obtain a Bearer token."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None


@record
class _Token:
    value: str
    expires_at: float
    grants: frozenset[tuple[str, str]]  # (resource, action) pairs the token was asked for


def parse_challenges(header: str) -> list[Challenge]:
    """Parse ``Bearer realm="x",service="y", Basic realm="z"`` into challenges.

    Parameters may be quoted (with backslash escapes) or bare tokens; a bare word
    not followed by ``=`` starts the next challenge.
    """
    challenges: list[Challenge] = []
    i, n = 0, len(header)
    current: Challenge | None = None
    while i < n:
        while i < n and header[i] in " \t,":
            i += 1
        start = i
        while i < n and header[i] not in " \t,=":
            i += 1
        word = header[start:i]
        if not word:
            i += 1
            continue
        j = i
        while j < n and header[j] in " \t":
            j += 1
        if j < n and header[j] == "=" and current is not None:
            i = j + 1
            while i < n and header[i] in " \t":
                i += 1
            if i < n and header[i] == '"':
                i += 1
                value = []
                while i < n and header[i] != '"':
                    if header[i] == "\\" and i + 1 < n:
                        i += 1
                    value.append(header[i])
                    i += 1
                i += 1
                current.params[word.lower()] = "".join(value)
            else:
                start = i
                while i < n and header[i] not in " \t,":
                    i += 1
                current.params[word.lower()] = header[start:i]
        else:
            current = Challenge(word.lower(), {})
            challenges.append(current)
    return challenges


def repository_scope(repository: str, *actions: str) -> str:
    """``repository:team/app:pull,push``."""
    return f"repository:{repository}:{','.join(actions)}"


def _grants(scopes: Iterable[str]) -> frozenset[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for scope in scopes:
        resource, sep, actions = scope.rpartition(":")
        if not sep:
            continue
        for action in actions.split(","):
            if action:
                out.add((resource, action))
    return frozenset(out)


def _merge_scopes(scopes: Iterable[str]) -> list[str]:
    """One scope string per resource with the union of its actions, in a stable order."""
    actions: dict[str, list[str]] = {}
    for resource, action in sorted(_grants(scopes)):
        actions.setdefault(resource, []).append(action)
    return [f"{r}:{','.join(a)}" for r, a in actions.items()]


class Authenticator:
    """The authentication state of one registry host.

    Usage by an HTTP client, for a request needing ``scopes``::

        token_request = auth.token_request(scopes)   # make it, then auth.accept_token(...)
        header = auth.header(scopes)                 # send it (None: send nothing)
        # on a 401: if auth.unauthorized(www_authenticate, scopes, header): retry once
    """

    def __init__(self, credentials: Credentials | None = None, registry: str = "",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.credentials = credentials or Credentials()
        self.registry = registry
        self.clock = clock
        self.challenge: Challenge | None = None
        self._tokens: list[_Token] = []
        self._extra_scopes: list[str] = []

    # ---- what to send ---------------------------------------------------------------

    def header(self, scopes: Iterable[str]) -> str | None:
        """The ``Authorization`` value for a request needing ``scopes`` (None: nothing)."""
        challenge = self.challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            return self.credentials.basic_header() if self.credentials.has_password else None
        if challenge.scheme == "bearer":
            token = self._valid_token(scopes)
            return f"Bearer {token.value}" if token else None
        return None

    def token_request(self, scopes: Iterable[str]) -> TokenRequest | None:
        """The token request to make before sending a request needing ``scopes``, if any."""
        challenge = self.challenge
        if challenge is None or challenge.scheme != "bearer":
            return None
        wanted = list(scopes) + self._extra_scopes
        if self._valid_token(wanted) is not None:
            return None
        realm = challenge.params.get("realm", "")
        if not realm:
            raise Unauthorized(f"{self.registry}: the registry's Bearer challenge has no realm")
        service = challenge.params.get("service", "")
        merged = _merge_scopes(wanted)
        creds = self.credentials
        if creds.identity_token:
            form = [("grant_type", "refresh_token"), ("refresh_token", creds.identity_token),
                    ("client_id", CLIENT_ID), ("access_type", "offline")]
            if service:
                form.append(("service", service))
            if merged:
                form.append(("scope", " ".join(merged)))
            return TokenRequest("POST", realm, {
                "Content-Type": "application/x-www-form-urlencoded"}, urlencode(form).encode())
        query = [("service", service)] if service else []
        query += [("scope", s) for s in merged]
        if creds.has_password:
            query.append(("account", creds.username))
        sep = "&" if "?" in realm else "?"
        url = realm + (sep + urlencode(query) if query else "")
        headers = {"Authorization": creds.basic_header()} if creds.has_password else {}
        return TokenRequest("GET", url, headers)

    # ---- what happened --------------------------------------------------------------

    def accept_token(self, request: TokenRequest, scopes: Iterable[str], status: int,
                     body: bytes) -> None:
        """Remember the token from a token server's answer; raise Unauthorized on refusal."""
        if status in (401, 403):
            raise Unauthorized(self.refused_message())
        if status != 200:
            raise Unauthorized(f"{self.registry}: the token server answered HTTP {status}")
        try:
            doc = json.loads(body)
            value = doc.get("token") or doc.get("access_token") or ""
            lifetime = int(doc.get("expires_in") or DEFAULT_TOKEN_LIFETIME)
        except (ValueError, TypeError, AttributeError):
            raise Unauthorized(f"{self.registry}: the token server sent a malformed answer"
                               ) from None
        if not value:
            raise Unauthorized(f"{self.registry}: the token server sent no token")
        wanted = list(scopes) + self._extra_scopes
        self._tokens = [t for t in self._tokens if t.expires_at > self.clock()]
        self._tokens.append(_Token(value, self.clock() + max(lifetime - EXPIRY_MARGIN, 1),
                                   _grants(wanted)))

    def unauthorized(self, www_authenticate: str, scopes: Iterable[str], sent: str | None) -> bool:
        """Learn from a 401; True if retrying the request can succeed.

        A new challenge, an expired or revoked token, or a wider scope asked for by the
        registry are worth one retry; refused Basic credentials are not.
        """
        challenges = parse_challenges(www_authenticate or "")
        chosen = next((c for c in challenges if c.scheme == "bearer"), None) or next(
            (c for c in challenges if c.scheme == "basic"), None)
        if chosen is None:
            raise Unauthorized(f"{self.registry}: unauthorized, and the registry offers no "
                               "supported authentication scheme")
        self.challenge = chosen
        if chosen.scheme == "basic":
            if not self.credentials.has_password:
                raise Unauthorized(f"{self.registry}: authentication required: run "
                                   f"'hull login {self.registry}'")
            if sent and sent.startswith("Basic "):
                raise Unauthorized(self.refused_message())
            return True
        asked = chosen.params.get("scope", "")
        if asked:
            for scope in asked.split(" "):
                if scope and not _grants([scope]) <= _grants(list(scopes) + self._extra_scopes):
                    self._extra_scopes.append(scope)
        if sent and sent.startswith("Bearer "):  # expired or revoked: fetch a fresh one
            value = sent[len("Bearer "):]
            self._tokens = [t for t in self._tokens if t.value != value]
        return True

    # ---- helpers --------------------------------------------------------------------

    def _valid_token(self, scopes: Iterable[str]) -> _Token | None:
        wanted = _grants(scopes)
        now = self.clock()
        for token in reversed(self._tokens):
            if token.expires_at > now and wanted <= token.grants:
                return token
        return None

    def refused_message(self) -> str:
        """Why the registry refused us, in one line."""
        if self.credentials.has_password or self.credentials.identity_token:
            return f"{self.registry}: unauthorized: incorrect username or password"
        return (f"{self.registry}: unauthorized: authentication required: run "
                f"'hull login {self.registry}'")
