"""Small builders for the responses every endpoint shares."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from hull.registry.server.errors import RegistryError
from hull.registry.server.uploads import UploadSession


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None,
                  content_type: str = "application/json") -> web.Response:
    data = json.dumps(body).encode()
    resp = web.Response(body=data, status=status, headers=headers)
    resp.content_type = content_type
    return resp


def error_response(err: RegistryError) -> web.Response:
    return json_response(err.body(), status=err.status, headers=err.headers)


def empty(status: int, headers: dict[str, str] | None = None) -> web.Response:
    """A bodyless response that still says ``Content-Length: 0`` (clients expect it)."""
    resp = web.Response(status=status, headers=headers)
    resp.headers["Content-Length"] = "0"
    return resp


def upload_headers(name: str, session: UploadSession) -> dict[str, str]:
    """Where the client continues an upload and how much the server has."""
    return {
        "Location": f"/v2/{name}/blobs/uploads/{session.uuid}",
        "Range": session.range_header(),
        "Docker-Upload-UUID": session.uuid,
    }


def blob_location(name: str, digest: str) -> dict[str, str]:
    return {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest}
