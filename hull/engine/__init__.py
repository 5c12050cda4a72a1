"""The engine facade: every front end (CLI, API) goes through :class:`Engine`.

Services are created on first use so a command touches only what it needs.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING

from hull.config import Settings

if TYPE_CHECKING:
    from hull.content.store import BlobStore
    from hull.engine.images import ImageService
    from hull.snapshot.base import Snapshotter
    from hull.state.db import Database


class Engine:
    """Owns the database, content store and snapshotter of one root."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()

    @property
    def root(self) -> str:
        return self.settings.root

    @property
    def run_root(self) -> str:
        return self.settings.run_root

    @cached_property
    def db(self) -> Database:
        from hull.state.db import Database

        os.makedirs(self.root, mode=0o711, exist_ok=True)
        return Database(os.path.join(self.root, "hull.db"))

    @cached_property
    def content(self) -> BlobStore:
        from hull.content.store import BlobStore

        return BlobStore(self.root)

    @cached_property
    def snapshotter(self) -> Snapshotter:
        from hull.snapshot import open_snapshotter

        return open_snapshotter(self.root, self.db, self.settings.snapshotter)

    @cached_property
    def images(self) -> ImageService:
        from hull.engine.images import ImageService

        return ImageService(self)

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.close()
