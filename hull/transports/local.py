"""The local image store as a transport: the source of ``save`` and ``push``,
the destination of ``load``, ``import`` and ``pull``."""

from __future__ import annotations

import contextlib
import os
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
    """One image of the local store.

    With ``compress_layers`` (for pushing) uncompressed layers are offered gzip-compressed,
    the way Docker pushes them: the manifest names the compressed blobs, which are made
    once and kept in the content store (see :class:`GzipLayerCache`).
    """

    parallel_blobs = 8

    def __init__(self, store: ImageStore, image: ImageRecord, compress_layers: bool = False
                 ) -> None:
        self.store = store
        self.image = image
        self.compress_layers = compress_layers
        self._manifest: tuple[bytes, str] | None = None

    def manifest(self, digest: str | None = None) -> tuple[bytes, str]:
        if self._manifest is None:
            data = self.store.manifest_bytes(self.image)
            media_type = self.image.manifest_media_type
            if self.compress_layers:
                data = GzipLayerCache(self.store).compressed_manifest(data, media_type)
            self._manifest = data, media_type
        return self._manifest

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


class _BackgroundTee:
    """Reads a stream on a thread, writing every chunk to a sink; the consumer reads the
    same bytes through a bounded queue.  An error of the stream (a digest mismatch at
    its end) is raised to the consumer where the stream would have raised it."""

    def __init__(self, stream: BinaryIO, sink: Callable[[bytes], object], depth: int = 8
                 ) -> None:
        import queue
        import threading

        self._stream = stream
        self._sink = sink
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self._full = queue.Full
        self._buf = b""
        self._pos = 0
        self._eof = False
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hull-read", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stopped.is_set():
                data = self._stream.read(1 << 20)
                if not data:
                    break
                self._sink(data)
                self._put(data)
            self._put(b"")
        except BaseException as e:  # handed to the consumer
            self._put(e)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except self._full:
                continue

    def read(self, n: int = -1) -> bytes:
        while self._pos >= len(self._buf) and not self._eof:
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._eof = True
                raise item
            if not item:
                self._eof = True
            self._buf, self._pos = item, 0
        end = len(self._buf) if n < 0 else self._pos + n
        data = self._buf[self._pos:end]
        self._pos += len(data)
        return data

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        while self.read(1 << 20):
            pass

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=30)


class LocalDestination(ImageDestination):
    """Unpacks layers into snapshots as they arrive and records the image at the end.

    Blobs transferred ahead (``put_blob``, parallel pulls) go into the content store
    first and are unpacked from there in stack order; ``repo_digests`` are recorded as
    the image's RepoDigests (``repo@sha256:...`` of what a registry served).
    """

    parallel_blobs = 8
    streams_single_layer = True

    def __init__(self, store: ImageStore, repo_digests: list[str] | None = None,
                 background_reads: bool = False) -> None:
        self.store = store
        #: Read, verify and store a streamed blob on a second thread while this one
        #: decompresses and unpacks it (worth it for network sources).
        self.background_reads = background_reads
        self.repo_digests = list(repo_digests or [])
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

    def put_blob(self, open_stream: Callable[[], BinaryIO], desc: Descriptor) -> str:
        if self.store.content.has(desc.digest):
            return ""
        with contextlib.closing(open_stream()) as stream:  # type: ignore[type-var]
            self.store.content.put(stream, desc.media_type)  # type: ignore[arg-type]
        self._new_blobs.add(desc.digest)
        return ""

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
        if not need_blob:  # verified when it entered the store: unpack from there
            open_stream = lambda: store.content.open(desc.digest)  # noqa: E731
        writer = store.content.writer() if need_blob else None
        try:
            with contextlib.closing(open_stream()) as raw:  # type: ignore[type-var]
                stream: _Tee | _BackgroundTee
                if writer is None:
                    stream = _Tee(raw, lambda _b: None)
                elif self.background_reads:
                    stream = _BackgroundTee(raw, writer.write)
                else:
                    stream = _Tee(raw, writer.write)
                try:
                    store.unpack_layer(stream, diff_id, self._parent)  # type: ignore[arg-type]
                    stream.drain()  # the verifying reader checks the digest at the end
                finally:
                    if isinstance(stream, _BackgroundTee):
                        stream.stop()
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
            layers=self._layers, tags=names, repo_digests=self.repo_digests)


class GzipLayerCache:
    """Gzip-compressed copies of uncompressed layer blobs, made once for pushing.

    The compressed blob lives in the content store; ``<root>/layer-gzip/<hex>`` maps
    the uncompressed blob's digest to it, so a second push sends the same bytes
    without compressing again.  Compression is deterministic (isal, no name, mtime 0).
    """

    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self.dir = os.path.join(store.content.root, "layer-gzip")

    def compressed_manifest(self, data: bytes, media_type: str) -> bytes:
        """``data`` with every uncompressed layer replaced by its gzip blob."""
        import json

        from hull.oci import mediatypes as mt

        doc = json.loads(data)
        layers = doc.get("layers") or []
        plain = [i for i, layer in enumerate(layers) if layer.get("mediaType") in mt.PLAIN_LAYERS]
        if not plain:
            return data
        gzip_type = {mt.DOCKER_LAYER: mt.DOCKER_LAYER_GZIP, mt.OCI_LAYER: mt.OCI_LAYER_GZIP}
        for i in plain:
            layer = layers[i]
            digest, size = self.compressed(layer["digest"])
            layers[i] = dict(layer, mediaType=gzip_type[layer["mediaType"]], digest=digest,
                             size=size)
        from hull.oci.manifest import Manifest

        return Manifest.from_bytes(json.dumps(doc).encode(), media_type).to_bytes()

    def compressed(self, digest: str) -> tuple[str, int]:
        """(digest, size) of the gzip blob of the uncompressed blob ``digest``."""
        index = os.path.join(self.dir, dg.hex_of(digest))
        try:
            with open(index) as f:
                gz_digest, size = f.read().split()
            if self.store.content.has(gz_digest):
                return gz_digest, int(size)
        except (OSError, ValueError):
            pass
        from hull.archive.compression import gzip_compress_stream

        writer = self.store.content.writer()
        try:
            with self.store.content.open(digest) as src:
                gzip_compress_stream(src, writer)  # type: ignore[arg-type]
            desc = writer.commit()
        finally:
            writer.abort()
        os.makedirs(self.dir, exist_ok=True)
        tmp = f"{index}.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{desc.digest} {desc.size}\n")
        os.replace(tmp, index)
        return desc.digest, desc.size
