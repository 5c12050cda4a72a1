"""Turn a request path into an endpoint and its parameters, validating names on the way.

Repository names contain slashes, so the path is matched from its end (the last
``/blobs/``, ``/manifests/`` ... wins) on the raw request target, after
percent-decoding.  A name must match the spec's grammar as a whole, so ``..``,
empty components and anything else that could leave the storage root are
rejected before any file is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from hull.registry.server.errors import RegistryError

NAME_RE = re.compile(
    r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
)
TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")
ANY_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
MAX_NAME_LENGTH = 255

_ENDPOINTS = (
    ("upload", re.compile(r"(?P<name>.+)/blobs/uploads(?:/(?P<arg>[^/]*))?")),
    ("blob", re.compile(r"(?P<name>.+)/blobs/(?P<arg>[^/]+)")),
    ("manifest", re.compile(r"(?P<name>.+)/manifests/(?P<arg>[^/]+)")),
    ("tags", re.compile(r"(?P<name>.+)/tags/list")),
    ("referrers", re.compile(r"(?P<name>.+)/referrers/(?P<arg>[^/]+)")),
)


@dataclass(frozen=True)
class Route:
    """What a request addresses: ``endpoint`` plus repository ``name`` and ``arg``.

    ``arg`` is a digest (blob, referrers), a tag or digest (manifest) or an upload id
    (upload; empty when starting one).
    """

    endpoint: str
    name: str = ""
    arg: str = ""


def route(raw_path: str) -> Route:
    """Match the raw request target (query string allowed) to an endpoint."""
    path = unquote(raw_path.split("?", 1)[0])
    if path in ("/v2", "/v2/"):
        return Route("base")
    if path in ("/v2/_catalog", "/v2/_catalog/"):
        return Route("catalog")
    if not path.startswith("/v2/"):
        raise RegistryError("NOT_FOUND", f"no such endpoint: {path}")
    rest = path[len("/v2/"):]
    for endpoint, pattern in _ENDPOINTS:
        m = pattern.fullmatch(rest)
        if m:
            name = validate_name(m.group("name"))
            return Route(endpoint, name, m.groupdict().get("arg") or "")
    raise RegistryError("NOT_FOUND", f"no such endpoint: {path}")


def validate_name(name: str) -> str:
    """Return ``name`` if it is a valid repository name, else raise NAME_INVALID."""
    if len(name) > MAX_NAME_LENGTH or not NAME_RE.fullmatch(name):
        raise RegistryError("NAME_INVALID", f"invalid repository name: {name!r}",
                            detail={"name": name})
    return name


def validate_digest(value: str) -> str:
    """Return ``value`` if it is a sha256 digest; other algorithms are refused clearly."""
    if DIGEST_RE.fullmatch(value):
        return value
    if ANY_DIGEST_RE.fullmatch(value) and not value.startswith("sha256:"):
        raise RegistryError("DIGEST_INVALID", f"unsupported digest algorithm in {value!r}",
                            detail={"digest": value})
    raise RegistryError("DIGEST_INVALID", f"invalid digest: {value!r}", detail={"digest": value})


def is_digest_like(value: str) -> bool:
    """True when a manifest reference is meant as a digest (it has an algorithm prefix)."""
    return ":" in value


def validate_tag(value: str) -> str:
    """Return ``value`` if it is a valid tag, else raise TAG_INVALID."""
    if not TAG_RE.fullmatch(value):
        raise RegistryError("TAG_INVALID", f"invalid tag: {value!r}", detail={"tag": value})
    return value


def validate_upload_id(value: str) -> str:
    """Upload ids are UUIDs; anything else is unknown (and never reaches the filesystem)."""
    if not UUID_RE.fullmatch(value):
        raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"uuid": value})
    return value
