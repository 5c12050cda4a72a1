"""Listings: ``tags/list``, ``_catalog`` (both paginated with ``n``/``last`` and a ``Link``
header) and the referrers API."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from hull.oci import mediatypes as mt
from hull.registry.server.context import Registry
from hull.registry.server.errors import RegistryError
from hull.registry.server.responses import json_response
from hull.registry.server.routing import Route, validate_digest


def _page(request: web.Request, items: list[str], base: str) -> tuple[list[str], dict[str, str]]:
    """Apply ``n`` and ``last`` to a sorted list; add a ``Link`` header when more remain."""
    last = request.query.get("last", "")
    if last:
        items = [i for i in items if i > last]
    n_text = request.query.get("n")
    if n_text is None or n_text == "":
        return items, {}
    if not n_text.isdigit():
        raise RegistryError("PAGINATION_NUMBER_INVALID", f"invalid page size {n_text!r}")
    n = int(n_text)
    headers: dict[str, str] = {}
    if len(items) > n:
        items = items[:n]
        if items:
            headers["Link"] = f'<{base}?n={n}&last={quote(items[-1], safe="")}>; rel="next"'
    return items, headers


async def list_tags(reg: Registry, request: web.Request, route: Route) -> web.StreamResponse:
    if not reg.storage.repo_exists(route.name):
        raise RegistryError("NAME_UNKNOWN", detail={"name": route.name})
    tags, headers = _page(request, reg.storage.tags(route.name), f"/v2/{route.name}/tags/list")
    return json_response({"name": route.name, "tags": tags}, headers=headers)


async def catalog(reg: Registry, request: web.Request, route: Route) -> web.StreamResponse:
    repos, headers = _page(request, reg.storage.repositories(), "/v2/_catalog")
    return json_response({"repositories": repos}, headers=headers)


async def referrers(reg: Registry, request: web.Request, route: Route) -> web.StreamResponse:
    """An OCI index of the manifests whose ``subject`` is the digest, optionally filtered."""
    subject = validate_digest(route.arg)
    found = reg.storage.referrers(route.name, subject)
    headers: dict[str, str] = {}
    artifact_type = request.query.get("artifactType")
    if artifact_type:
        found = [d for d in found if d.get("artifactType") == artifact_type]
        headers["OCI-Filters-Applied"] = "artifactType"
    found.sort(key=lambda d: d["digest"])
    index = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": found}
    return json_response(index, headers=headers, content_type=mt.OCI_INDEX)
