"""Settings and shared state of one running registry, handed to every handler."""

from __future__ import annotations

from dataclasses import dataclass, field

from hull.registry.server.auth import Htpasswd
from hull.registry.server.storage import RegistryStorage
from hull.registry.server.uploads import Uploads


@dataclass(frozen=True)
class ServerConfig:
    """What ``hull registry serve`` was asked to do.

    ``pull_only`` names htpasswd users who may read but get DENIED on writes.
    """

    root: str
    htpasswd: str = ""
    realm: str = "hull"
    read_only: bool = False
    pull_only: tuple[str, ...] = ()


@dataclass
class Registry:
    """The storage, upload sessions and authentication of a running server."""

    config: ServerConfig
    storage: RegistryStorage = field(init=False)
    uploads: Uploads = field(init=False)
    htpasswd: Htpasswd | None = field(init=False)

    def __post_init__(self) -> None:
        self.storage = RegistryStorage(self.config.root)
        self.uploads = Uploads(self.storage)
        self.htpasswd = Htpasswd.load(self.config.htpasswd) if self.config.htpasswd else None
