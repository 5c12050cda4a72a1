"""``/v2/<name>/manifests/<tag|digest>``: push, fetch and delete manifests and tags."""

from __future__ import annotations

import asyncio
import os

from aiohttp import web

from hull import digest as dg
from hull.registry.server.context import Registry
from hull.registry.server.errors import RegistryError
from hull.registry.server.manifests import MAX_MANIFEST_BYTES, ManifestInfo, parse_manifest
from hull.registry.server.responses import empty
from hull.registry.server.routing import Route, is_digest_like, validate_digest, validate_tag
from hull.registry.server.storage import ManifestRecord


def _reference(route: Route) -> tuple[str, str]:
    """(tag, digest) named by the path: exactly one of them is non-empty."""
    if is_digest_like(route.arg):
        return "", validate_digest(route.arg)
    return validate_tag(route.arg), ""


def _lookup(reg: Registry, route: Route) -> ManifestRecord:
    tag, digest = _reference(route)
    if tag:
        digest = reg.storage.tag(route.name, tag) or ""
    record = reg.storage.manifest(route.name, digest) if digest else None
    if record is None:
        raise RegistryError("MANIFEST_UNKNOWN", detail={"name": route.name, "reference": route.arg})
    return record


def _accepts(accept_header: str, media_type: str) -> bool:
    """Whether a client's Accept admits the stored type; the server never converts manifests."""
    accepted = {part.split(";", 1)[0].strip().lower() for part in accept_header.split(",")}
    accepted.discard("")
    return not accepted or bool(accepted & {media_type, "*/*", "application/*"})


async def get_manifest(reg: Registry, request: web.Request, route: Route) -> web.StreamResponse:
    """GET and HEAD: the manifest exactly as pushed, with its stored Content-Type."""
    record = _lookup(reg, route)
    accept = ",".join(request.headers.getall("Accept", []))
    if not _accepts(accept, record.media_type):
        raise RegistryError("MANIFEST_UNKNOWN",
                            f"manifest is {record.media_type}, which the Accept header excludes",
                            detail={"name": route.name, "reference": route.arg})
    headers = {"Docker-Content-Digest": record.digest, "ETag": f'"{record.digest}"',
               "Content-Type": record.media_type}
    if request.method == "HEAD":
        headers["Content-Length"] = str(record.size)
        return web.Response(status=200, headers=headers)
    data = reg.storage.read_manifest(record.digest)
    return web.Response(status=200, body=data, headers=headers)


async def put_manifest(reg: Registry, request: web.Request, route: Route) -> web.StreamResponse:
    """PUT: validate, check that everything it references is in the repository, store, tag."""
    tag, claimed = _reference(route)
    data = await _read_limited(request)
    digest = dg.of_bytes(data)
    if claimed and claimed != digest:
        raise RegistryError("DIGEST_INVALID", f"manifest has digest {digest}, not {claimed}",
                            detail={"expected": claimed, "actual": digest})
    info = parse_manifest(data, request.headers.get("Content-Type", ""))
    _check_references(reg, route.name, info)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, reg.storage.put_manifest, route.name, data, info, tag)
    headers = {"Location": f"/v2/{route.name}/manifests/{digest}",
               "Docker-Content-Digest": digest}
    if info.subject:
        headers["OCI-Subject"] = info.subject
    return empty(201, headers)


async def delete_manifest(reg: Registry, request: web.Request,
                          route: Route) -> web.StreamResponse:
    """DELETE by digest removes the manifest and its tags; by tag removes only the tag."""
    tag, digest = _reference(route)
    done = (reg.storage.delete_tag(route.name, tag) if tag
            else reg.storage.delete_manifest(route.name, digest))
    if not done:
        raise RegistryError("MANIFEST_UNKNOWN", detail={"name": route.name, "reference": route.arg})
    return empty(202)


async def _read_limited(request: web.Request) -> bytes:
    if (request.content_length or 0) > MAX_MANIFEST_BYTES:
        raise RegistryError("SIZE_INVALID", f"manifest larger than {MAX_MANIFEST_BYTES} bytes",
                            status=413)
    data = await request.content.read(MAX_MANIFEST_BYTES + 1)
    while len(data) <= MAX_MANIFEST_BYTES and not request.content.at_eof():
        more = await request.content.read(MAX_MANIFEST_BYTES + 1 - len(data))
        if not more:
            break
        data += more
    if len(data) > MAX_MANIFEST_BYTES:
        raise RegistryError("SIZE_INVALID", f"manifest larger than {MAX_MANIFEST_BYTES} bytes",
                            status=413)
    return data


def _check_references(reg: Registry, name: str, info: ManifestInfo) -> None:
    for desc in info.blobs:
        digest = desc["digest"]
        if not reg.storage.has_blob(name, digest):
            raise RegistryError("MANIFEST_BLOB_UNKNOWN", f"blob {digest} is not in {name}",
                                detail={"digest": digest})
        size = os.stat(reg.storage.blob_path(digest)).st_size
        if size != desc["size"]:
            raise RegistryError("MANIFEST_INVALID",
                                f"descriptor of {digest} says {desc['size']} bytes, the blob has "
                                f"{size}", detail={"digest": digest})
    for desc in info.manifests:
        if reg.storage.manifest(name, desc["digest"]) is None:
            raise RegistryError("MANIFEST_BLOB_UNKNOWN",
                                f"manifest {desc['digest']} is not in {name}",
                                detail={"digest": desc["digest"]})
