"""Attaching to a running container: Docker's refusals, then a connection to its shim."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hull.errors import Conflict

if TYPE_CHECKING:
    import socket

    from hull.engine.container_model import Container
    from hull.engine.containers import ContainerService


def attach(service: ContainerService, ref: str, stdin: bool) -> tuple[Container, socket.socket]:
    """(container, connection streaming its output) for ``docker attach``."""
    from hull.shim.client import connect_attach

    c = service.get(ref)
    if not c.running or c.state.get("Restarting"):
        raise Conflict("You cannot attach to a stopped container, start it first")
    if c.state.get("Paused"):
        raise Conflict("You cannot attach to a paused container, unpause it first")
    stdin = stdin and bool(c.config.get("OpenStdin"))
    return c, connect_attach(service.paths(c.id).attach_socket, stdin)
