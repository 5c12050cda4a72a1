"""Removing volumes: one at a time, each in one transaction with its directory.

Used by ``hull volume rm``/``prune``, by ``hull rm -v`` and, without an Engine, when a
``--rm`` container is discarded (its anonymous volumes go with it, as in Docker).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hull.errors import Conflict, NotFound
from hull.volume.store import VolumeStore

if TYPE_CHECKING:
    from hull.state.db import Database


def remove_volume(store: VolumeStore, root: str, name: str) -> None:
    """Delete a volume nobody uses: its row and its data, or neither.

    The directory goes inside the transaction, so a failure to delete it (busy mount,
    I/O error) keeps the row and the volume can be removed again later.
    """
    from hull.volume.localdriver import remove_dirs
    from hull.volume.names import op_error

    with store.db.transaction():
        if store.get(name) is None:
            raise NotFound(op_error("get", name, "no such volume"))
        users = store.users(name)
        if users:
            raise Conflict(op_error("remove", name, "volume is in use")
                           + f" - [{', '.join(users)}]")
        store.delete(name)
        remove_dirs(root, name)


def remove_if_unused(store: VolumeStore, root: str, names: list[str]) -> list[str]:
    """Remove each of ``names`` that exists and is unused; the names removed."""
    removed = []
    for name in names:
        try:
            remove_volume(store, root, name)
        except (Conflict, NotFound):
            continue
        removed.append(name)
    return removed


def remove_owned(db: Database, root: str, container_id: str) -> None:
    """A container was discarded: remove the anonymous volumes that were to go with it."""
    store = VolumeStore(db)
    names = store.removable_with(container_id)
    if names:
        remove_if_unused(store, root, names)
