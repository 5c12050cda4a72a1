"""The local image store as a transport: the source of ``save`` and ``push``,
the destination of ``load``, ``import`` and ``pull``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from hull import digest as dg
from hull.errors import CorruptArchive
from hull.image.model import ImageRecord, LayerRecord
from hull.oci.descriptor import Descriptor
from hull.oci.image import ImageConfig
from hull.transports.base import ImageDestination, ImageSource

if TYPE_CHECKING:
    from hull.image.store import ImageStore


class LocalSource(ImageSource):
    """One image of the local store."""

    def __init__(self, store: ImageStore, image: ImageRecord) -> None:
        self.store = store
        self.image = image

    def manifest(self, digest: str | None = None) -> tuple[bytes, str]:
        return self.store.manifest_bytes(self.image), self.image.manifest_media_type

    def open_blob(self, desc: Descriptor) -> BinaryIO:
        return self.store.content.open(desc.digest)

    def names(self) -> list[str]:
        return list(self.image.tags)

    def layer_diff_size(self, desc: Descriptor) -> int | None:
        row = self.store.db.query_one(
            "SELECT l.tar_size FROM image_layers il JOIN layers l USING (chain_id)"
            " WHERE il.image_id = ? AND il.blob_digest = ? LIMIT 1", (self.image.id, desc.digest))
        return int(row["tar_size"]) if row else None


class _Tee:
    """Reads from a stream and writes everything read into a sink."""

    def __init__(self, stream: BinaryIO, sink: Callable[[bytes], object]) -> None:
        self._stream = stream
        self._sink = sink

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        if data:
            self._sink(data)
        return data

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        while self.read(1 << 20):
            pass


class LocalDestination(ImageDestination):
    """Unpacks layers into snapshots as they arrive and records the image at the end."""

    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self._layers: list[LayerRecord] = []
        self._parent: str | None = None
        self._config: Descriptor | None = None
        self._config_bytes = b""
        self.image: ImageRecord | None = None
        self.displaced: list[str] = []
        self._new_blobs: set[str] = set()
        self._new_layers: list[str] = []

    def has_blob(self, desc: Descriptor) -> bool:
        return self.store.content.has(desc.digest)

    def put_config(self, data: bytes, desc: Descriptor) -> None:
        # Stored with the manifest at the end: a failed copy leaves no stray config.
        self._config, self._config_bytes = desc, data

    def put_layer(self, open_stream: Callable[[], BinaryIO], desc: Descriptor, diff_id: str,
                  index: int, diff_size: int | None) -> Descriptor:
        store = self.store
        chain_id = diff_id if self._parent is None else dg.of_bytes(
            f"{self._parent} {diff_id}".encode())
        if not store.content.has(desc.digest):
            self._new_blobs.add(desc.digest)
        if not store.has_layer(chain_id):
            self._new_layers.append(chain_id)
        if not (store.content.has(desc.digest) and store.has_layer(chain_id)):
            self._fetch_layer(open_stream, desc, diff_id)
        self._layers.append(LayerRecord(
            chain_id=chain_id, diff_id=diff_id, size=store.layer_size(chain_id),
            blob_digest=desc.digest, blob_media_type=desc.media_type, blob_size=desc.size))
        self._parent = chain_id
        return desc

    def _fetch_layer(self, open_stream: Callable[[], BinaryIO], desc: Descriptor,
                     diff_id: str) -> None:
        store = self.store
        need_blob = not store.content.has(desc.digest)
        writer = store.content.writer() if need_blob else None
        try:
            with contextlib.closing(open_stream()) as raw:  # type: ignore[type-var]
                stream = _Tee(raw, writer.write) if writer else _Tee(raw, lambda _b: None)
                store.unpack_layer(stream, diff_id, self._parent)  # type: ignore[arg-type]
                stream.drain()  # the verifying reader checks the digest at the end
            if writer is not None:
                writer.commit(desc.media_type, expected=desc.digest)
                writer = None
        finally:
            if writer is not None:
                writer.abort()

    def abort(self) -> None:
        """Release the blobs and layers this copy added, unless an image uses them now."""
        if self.image is not None:
            return
        self.store.release_blobs(self._new_blobs)
        self.store.release_layers(set(self._new_layers))

    def put_manifest(self, data: bytes, media_type: str, names: list[str]) -> None:
        if self._config is None:
            raise CorruptArchive("image has no config")
        self.store.content.put_bytes(self._config_bytes, self._config.media_type,
                                     expected=self._config.digest)
        manifest = self.store.content.put_bytes(data, media_type)
        config = ImageConfig.from_bytes(self._config_bytes)
        self.image, self.displaced = self.store.add(
            config_digest=self._config.digest, created=config.created,
            manifest_digest=manifest.digest, manifest_media_type=media_type,
            layers=self._layers, tags=names)
