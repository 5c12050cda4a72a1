"""``/v2/<name>/blobs/<digest>``: fetch (with ranges, via sendfile), check and delete blobs."""

from __future__ import annotations

from aiohttp import web

from hull.registry.server.context import Registry
from hull.registry.server.errors import RegistryError
from hull.registry.server.responses import empty
from hull.registry.server.routing import Route, validate_digest


async def get_blob(reg: Registry, request: web.Request, route: Route) -> web.StreamResponse:
    """GET and HEAD: the blob's bytes (or a Range of them) with its digest in the headers."""
    digest = validate_digest(route.arg)
    if not reg.storage.has_blob(route.name, digest):
        raise RegistryError("BLOB_UNKNOWN", detail={"digest": digest})
    resp = web.FileResponse(reg.storage.blob_path(digest), chunk_size=1 << 20)
    resp.headers["Content-Type"] = "application/octet-stream"
    resp.headers["Docker-Content-Digest"] = digest
    resp.headers["Cache-Control"] = "max-age=31536000"
    return resp


async def delete_blob(reg: Registry, request: web.Request, route: Route) -> web.StreamResponse:
    """Unlink the blob from the repository; ``hull registry gc`` reclaims the space."""
    digest = validate_digest(route.arg)
    if not reg.storage.unlink_blob(route.name, digest):
        raise RegistryError("BLOB_UNKNOWN", detail={"digest": digest})
    return empty(202, {"Docker-Content-Digest": digest})
