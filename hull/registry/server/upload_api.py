"""``/v2/<name>/blobs/uploads/[<uuid>]``: monolithic, chunked and streamed blob uploads,
cross-repository mounts, upload status and cancellation."""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from hull.registry.server.context import Registry
from hull.registry.server.errors import RegistryError
from hull.registry.server.responses import blob_location, empty, upload_headers
from hull.registry.server.routing import Route, validate_digest, validate_name
from hull.registry.server.uploads import UploadSession

READ_CHUNK = 1 << 20
_CONTENT_RANGE_RE = re.compile(r"(?:bytes[ =])?(\d+)-(\d+)(?:/(?:\d+|\*))?")


async def start_upload(reg: Registry, request: web.Request, route: Route) -> web.StreamResponse:
    """POST: mount from another repository, take a whole blob at once, or open a session."""
    mount, source = request.query.get("mount"), request.query.get("from")
    if mount and source:
        digest = validate_digest(mount)
        source = validate_name(source)
        if reg.storage.has_blob(source, digest):
            reg.storage.link_blob(route.name, digest)
            return empty(201, blob_location(route.name, digest))
    digest = request.query.get("digest")
    if digest is None:
        session = reg.uploads.start(route.name)
        return empty(202, upload_headers(route.name, session))
    digest = validate_digest(digest)
    await reg.uploads.store_whole(request.content.iter_chunked(READ_CHUNK), digest)
    reg.storage.link_blob(route.name, digest)
    return empty(201, blob_location(route.name, digest))


async def patch_upload(reg: Registry, request: web.Request, route: Route) -> web.StreamResponse:
    """PATCH: append a chunk; with Content-Range it must continue at the current offset."""
    session = reg.uploads.get(route.name, route.arg)
    async with session.lock:
        await _append(reg, request, route.name, session)
        return empty(202, upload_headers(route.name, session))


async def put_upload(reg: Registry, request: web.Request, route: Route) -> web.StreamResponse:
    """PUT ?digest=: take an optional last chunk, verify the digest, store the blob."""
    session = reg.uploads.get(route.name, route.arg)
    digest = request.query.get("digest")
    if not digest:
        raise RegistryError("DIGEST_INVALID", "the digest query parameter is required")
    digest = validate_digest(digest)
    async with session.lock:
        if request.body_exists:
            await _append(reg, request, route.name, session)
        return await _finish(reg, route.name, session, digest)


async def upload_status(reg: Registry, request: web.Request, route: Route) -> web.StreamResponse:
    """GET: how much of the upload the server has."""
    session = reg.uploads.get(route.name, route.arg)
    return empty(204, upload_headers(route.name, session))


async def cancel_upload(reg: Registry, request: web.Request, route: Route) -> web.StreamResponse:
    """DELETE: abandon the upload and its data."""
    session = reg.uploads.get(route.name, route.arg)
    async with session.lock:
        reg.uploads.discard(session)
    return empty(204)


async def _append(reg: Registry, request: web.Request, name: str, session: UploadSession) -> None:
    expected: int | None = None
    header = request.headers.get("Content-Range")
    if header:
        m = _CONTENT_RANGE_RE.fullmatch(header.strip())
        if not m or int(m.group(2)) < int(m.group(1)):
            raise RegistryError("BLOB_UPLOAD_INVALID", f"malformed Content-Range {header!r}")
        start, end = int(m.group(1)), int(m.group(2))
        if start != session.offset:
            raise RegistryError(
                "BLOB_UPLOAD_INVALID",
                f"Content-Range starts at {start}, the upload is at {session.offset}",
                status=416, headers=upload_headers(name, session))
        expected = end - start + 1
        length = request.content_length
        if length is not None and length != expected:
            raise RegistryError("SIZE_INVALID", f"Content-Length {length} does not match "
                                f"Content-Range {header!r}")
    await reg.uploads.append(session, request.content.iter_chunked(READ_CHUNK), expected)


async def _finish(reg: Registry, name: str, session: UploadSession,
                  digest: str) -> web.StreamResponse:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, reg.uploads.finish, session, digest)
    reg.storage.link_blob(name, digest)
    loop.run_in_executor(None, reg.uploads.remove_files, session)  # after the answer
    return empty(201, blob_location(name, digest))
