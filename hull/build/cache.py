"""The build cache: step results in SQLite, keyed by what the step depends on.

A key is the sha256 of the config digest of the state the step starts from (its
parent, which covers every earlier instruction, the environment and the layers) and
a JSON description of the step after variable substitution, including for COPY/ADD
the content hash of the files it reads.  A row holds the resulting config and layer
list, so a hit reproduces the very same state (same timestamps, same image id).

Layers of cached steps live in the image store like any other layer; a row whose
layers or blobs were removed since (``hull rmi`` of the only image using them) is a
miss, and is dropped.
"""

from __future__ import annotations

import json
import time

from hull import digest as dg
from hull.build.state import ImageState, layer_from_dict, layer_to_dict

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

    from hull.content.store import BlobStore
    from hull.image.store import ImageStore
    from hull.state.db import Database


def step_key(parent_digest: str, description: dict[str, Any]) -> str:
    """The cache key of a step starting from ``parent_digest``."""
    text = json.dumps([parent_digest, description], sort_keys=True, separators=(",", ":"))
    return dg.of_bytes(text.encode())


class BuildCache:
    """Lookup and storage of step results."""

    def __init__(self, db: Database, images: ImageStore, content: BlobStore) -> None:
        self.db = db
        self.images = images
        self.content = content

    def get(self, key: str) -> ImageState | None:
        """The cached result of the step ``key``, if it and all its layers still exist."""
        row = self.db.query_one("SELECT config, layers FROM build_cache WHERE key = ?", (key,))
        if row is None:
            return None
        layers = [layer_from_dict(d) for d in json.loads(row["layers"])]
        if layers and not (self.images.has_layer(layers[-1].chain_id)
                           and all(self.content.has(layer.blob_digest) for layer in layers)):
            with self.db.transaction():
                self.db.execute("DELETE FROM build_cache WHERE key = ?", (key,))
            return None
        return ImageState(json.loads(row["config"]), layers)

    def touch(self, keys: list[str]) -> None:
        """Record that entries were used (one transaction for a whole build's hits)."""
        if not keys:
            return
        now = time.time()
        with self.db.transaction():
            self.db.conn.executemany("UPDATE build_cache SET last_used = ? WHERE key = ?",
                                [(now, key) for key in keys])

    def put(self, key: str, parent_digest: str, state: ImageState) -> None:
        self.put_many([(key, parent_digest, state)])

    def put_many(self, entries: list[tuple[str, str, ImageState]]) -> None:
        """Store step results (key, parent config digest, result) in one transaction."""
        if not entries:
            return
        now = time.time()
        rows = []
        for key, parent_digest, state in entries:
            config = state.to_bytes().decode()
            layers = json.dumps([layer_to_dict(layer) for layer in state.layers])
            rows.append((key, parent_digest, dg.of_bytes(config.encode()), config, layers, now,
                         now))
        with self.db.transaction():
            self.db.conn.executemany(
                "INSERT INTO build_cache (key, parent, result, config, layers, created_at,"
                " last_used) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
                " parent = excluded.parent, result = excluded.result, config = excluded.config,"
                " layers = excluded.layers, created_at = excluded.created_at,"
                " last_used = excluded.last_used", rows)

    def entries(self) -> int:
        return int(self.db.query_one("SELECT COUNT(*) AS n FROM build_cache")["n"])

    def prune(self) -> tuple[int, set[str], set[str]]:
        """Forget every entry; return (count, chain ids, blob digests) they referenced."""
        chains: set[str] = set()
        blobs: set[str] = set()
        with self.db.transaction():
            rows = self.db.query("SELECT layers FROM build_cache")
            for row in rows:
                for d in json.loads(row["layers"]):
                    chains.add(d["chain_id"])
                    blobs.add(d["blob_digest"])
            self.db.execute("DELETE FROM build_cache")
        return len(rows), chains, blobs
