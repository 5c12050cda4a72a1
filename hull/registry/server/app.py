"""The aiohttp application: authentication, read-only mode, routing and error bodies.

One catch-all route hands every request to :func:`dispatch`, which matches the
raw request target itself (repository names contain slashes, and ``..`` must be
seen before anything normalises it away).
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from collections.abc import Awaitable, Callable

from aiohttp import web

from hull.registry.server import blob_api, listing_api, manifest_api, upload_api
from hull.registry.server.context import Registry, ServerConfig
from hull.registry.server.errors import RegistryError
from hull.registry.server.responses import error_response, json_response
from hull.registry.server.routing import Route, route

Handler = Callable[[Registry, web.Request, Route], Awaitable[web.StreamResponse]]
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_VERSION = ("Docker-Distribution-API-Version", "registry/2.0")
REGISTRY_KEY = web.AppKey("registry", Registry)


async def _base(reg: Registry, request: web.Request, route: Route) -> web.StreamResponse:
    return json_response({})


HANDLERS: dict[tuple[str, str], Handler] = {
    ("base", "GET"): _base,
    ("base", "HEAD"): _base,
    ("catalog", "GET"): listing_api.catalog,
    ("tags", "GET"): listing_api.list_tags,
    ("referrers", "GET"): listing_api.referrers,
    ("blob", "GET"): blob_api.get_blob,
    ("blob", "HEAD"): blob_api.get_blob,
    ("blob", "DELETE"): blob_api.delete_blob,
    ("manifest", "GET"): manifest_api.get_manifest,
    ("manifest", "HEAD"): manifest_api.get_manifest,
    ("manifest", "PUT"): manifest_api.put_manifest,
    ("manifest", "DELETE"): manifest_api.delete_manifest,
    ("upload", "POST"): upload_api.start_upload,
    ("upload", "PATCH"): upload_api.patch_upload,
    ("upload", "PUT"): upload_api.put_upload,
    ("upload", "GET"): upload_api.upload_status,
    ("upload", "DELETE"): upload_api.cancel_upload,
}


async def dispatch(request: web.Request) -> web.StreamResponse:
    reg = request.app[REGISTRY_KEY]
    await _authorize(reg, request)
    target = route(request.raw_path)
    if target.endpoint == "upload" and not target.arg and request.method != "POST":
        raise RegistryError("UNSUPPORTED", f"{request.method} needs an upload id")
    handler = HANDLERS.get((target.endpoint, request.method))
    if handler is None:
        raise RegistryError("UNSUPPORTED", f"{request.method} is not supported here")
    if request.method in WRITE_METHODS and reg.config.read_only:
        raise RegistryError("UNSUPPORTED", "the registry is in read-only mode")
    if request.method in WRITE_METHODS and request.get("user") in reg.config.pull_only:
        raise RegistryError("DENIED", f"user {request['user']} may only pull")
    return await handler(reg, request, target)


async def _authorize(reg: Registry, request: web.Request) -> None:
    """With an htpasswd file, every request must carry valid Basic credentials."""
    if reg.htpasswd is None:
        return
    header = request.headers.get("Authorization", "")
    user = reg.htpasswd.cached(header) if header else None
    if user is None and header:
        user = await asyncio.get_running_loop().run_in_executor(None, reg.htpasswd.check, header)
    if user is None:
        challenge = f'Basic realm="{reg.config.realm}"'
        raise RegistryError("UNAUTHORIZED", detail=None, headers={"WWW-Authenticate": challenge})
    request["user"] = user


@web.middleware
async def errors_middleware(request: web.Request, handler: Callable) -> web.StreamResponse:
    """Registry errors become spec-shaped JSON; anything unexpected is logged and is a 500."""
    try:
        return await handler(request)
    except RegistryError as e:
        return error_response(e)
    except web.HTTPException:
        raise
    except (ConnectionError, asyncio.CancelledError):
        raise
    except Exception as e:
        traceback.print_exc(file=sys.stderr)
        return error_response(RegistryError("UNKNOWN", f"{type(e).__name__}: {e}"))


async def _add_version_header(request: web.Request, response: web.StreamResponse) -> None:
    response.headers[API_VERSION[0]] = API_VERSION[1]


def make_app(config: ServerConfig) -> web.Application:
    """The registry as an aiohttp application (also usable in-process by tests)."""
    app = web.Application(middlewares=[errors_middleware], client_max_size=1 << 20)
    app[REGISTRY_KEY] = Registry(config)
    app.on_response_prepare.append(_add_version_header)
    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app
