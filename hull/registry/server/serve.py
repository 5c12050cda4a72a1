"""Run the registry until SIGTERM or SIGINT: bind, announce, log one line per request."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from hull.errors import InvalidArgument
from hull.registry.server.app import make_app
from hull.registry.server.context import ServerConfig


class AccessLogger(AbstractAccessLogger):
    """``ADDR USER "METHOD PATH" STATUS BYTES DURATIONms`` on stderr, one line per request."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        user = request.get("user") or "-"
        size = response.content_length or 0
        line = (f'{request.remote or "-"} {user} "{request.method} {request.raw_path}" '
                f"{response.status} {size} {time * 1000:.1f}ms\n")
        sys.stderr.write(line)
        sys.stderr.flush()

    @property
    def enabled(self) -> bool:
        return True


def parse_addr(addr: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:5000``, ``:5000`` meaning all interfaces) -> (host, port)."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise InvalidArgument(f"invalid address {addr!r}: expected HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def serve(config: ServerConfig, addr: str) -> None:
    """Serve until a signal arrives; prints ``Listening on http://HOST:PORT`` once bound."""
    host, port = parse_addr(addr)
    app = make_app(config)
    asyncio.run(_serve(app, host, port))


async def _serve(app: web.Application, host: str, port: int) -> None:
    runner = web.AppRunner(app, access_log_class=AccessLogger, handle_signals=False)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, host, port, backlog=256, reuse_address=True)
        try:
            await site.start()
        except OSError as e:
            reason = os.strerror(e.errno).lower() if e.errno else str(e)
            raise InvalidArgument(f"cannot listen on {host}:{port}: {reason}")
        bound = runner.addresses[0]
        shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        print(f"Listening on http://{shown}:{bound[1]}", flush=True)
        started = time.monotonic()
        await stop.wait()
        sys.stderr.write(f"shutting down after {time.monotonic() - started:.1f}s\n")
    finally:
        await runner.cleanup()
