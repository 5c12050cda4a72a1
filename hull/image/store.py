"""The local image store: images, their references and their unpacked layers.

Images and references are rows in SQLite; image content (manifest, config,
layer blobs) lives in the content store; unpacked layers are committed
snapshots keyed by chain id, shared by every image whose stack starts the same
way.  Adding or removing an image is one transaction; layers and blobs that no
image uses any more are released after it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time

from hull import digest as dg
from hull.errors import (
    Conflict,
    CorruptArchive,
    DigestMismatch,
    EngineError,
    InvalidReference,
    NotFound,
)
from hull.image.model import ImageRecord, LayerRecord
from hull.pids import pid_alive

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

    from hull.content.store import BlobStore
    from hull.oci.image import ImageConfig
    from hull.snapshot.base import Snapshotter
    from hull.state.db import Database

EXTRACT_PREFIX = "extract-"


class ImageStore:
    """Reads and changes the set of local images."""

    def __init__(self, db: Database, content: BlobStore,
                 snapshotter: Snapshotter | Callable[[], Snapshotter]) -> None:
        self.db = db
        self.content = content
        self._snapshotter = snapshotter

    @property
    def snapshotter(self) -> Snapshotter:
        """Opened on first use: listing and inspecting images never needs it."""
        from hull.snapshot.base import Snapshotter

        if not isinstance(self._snapshotter, Snapshotter):
            self._snapshotter = self._snapshotter()
        return self._snapshotter

    # ---- reading -------------------------------------------------------------------------

    def list(self) -> list[ImageRecord]:
        """Every image, newest first."""
        rows = self.db.query("SELECT * FROM images ORDER BY created DESC, added_at DESC")
        refs = self._refs_by_image()
        layers = self._layers_by_image()
        return [self._record(r, refs.get(r["id"], []), layers.get(r["id"], [])) for r in rows]

    def get(self, image_id: str) -> ImageRecord:
        row = self.db.query_one("SELECT * FROM images WHERE id = ?", (image_id,))
        if row is None:
            raise NotFound(f"No such image: {image_id}")
        refs = self.db.query("SELECT name, kind FROM image_refs WHERE image_id = ? ORDER BY name",
                             (image_id,))
        layers = self.db.query(
            "SELECT il.*, l.diff_id, l.size FROM image_layers il JOIN layers l USING (chain_id)"
            " WHERE il.image_id = ? ORDER BY il.position", (image_id,))
        return self._record(row, [(r["name"], r["kind"]) for r in refs], layers)

    def resolve(self, name: str) -> ImageRecord:
        """Find an image by reference, full id, or unique id prefix (as Docker does)."""
        image_id = self.resolve_id(name)
        if image_id is None:
            raise NotFound(f"No such image: {name}")
        return self.get(image_id)

    def resolve_id(self, name: str) -> str | None:
        from hull import reference

        text = name.strip()
        if not text:
            return None
        hexpart = text[7:] if text.startswith("sha256:") else text
        if text.startswith("sha256:") and len(hexpart) == 64:
            row = self.db.query_one("SELECT id FROM images WHERE id = ?", (text,))
            return row["id"] if row else None
        # A reference first (a repository may look like a hex prefix, e.g. "abc").
        try:
            ref = reference.parse(text)
        except InvalidReference:
            ref = None
        if ref is not None:
            row = self.db.query_one("SELECT image_id FROM image_refs WHERE name = ?", (str(ref),))
            if row:
                return row["image_id"]
        if reference.is_partial_id(hexpart):
            rows = self.db.query("SELECT id FROM images WHERE id LIKE ? LIMIT 2",
                                 (f"sha256:{hexpart}%",))
            if len(rows) == 1:
                return rows[0]["id"]
            if len(rows) > 1:
                raise Conflict(f"image id prefix {text!r} is ambiguous: give more characters")
        if ref is None:
            reference.parse(text)  # raise the reference error for the user
        return None

    def manifest_bytes(self, image: ImageRecord) -> bytes:
        return self.content.read(image.manifest_digest)

    def config_bytes(self, image: ImageRecord) -> bytes:
        return self.content.read(image.id)

    # ---- layers -------------------------------------------------------------------------

    def has_layer(self, chain_id: str) -> bool:
        return self.db.query_one("SELECT 1 FROM layers WHERE chain_id = ?", (chain_id,)) is not None

    def layer_size(self, chain_id: str) -> int:
        row = self.db.query_one("SELECT size FROM layers WHERE chain_id = ?", (chain_id,))
        if row is None:
            raise NotFound(f"layer {chain_id} not found")
        return int(row["size"])

    def unpack_layer(self, stream: BinaryIO, diff_id: str, parent_chain: str | None) -> str:
        """Unpack a layer tar (compressed or not) on top of ``parent_chain``; return its chain id.

        The tar's uncompressed digest must equal ``diff_id``; a layer that is already
        unpacked is not unpacked again (the stream is then left unread).
        """
        from hull.archive.apply import apply_layer
        from hull.archive.compression import open_layer

        chain_id = diff_id if parent_chain is None else dg.of_bytes(
            f"{parent_chain} {diff_id}".encode())
        if self.has_layer(chain_id):
            return chain_id
        key = f"{EXTRACT_PREFIX}{os.getpid()}-{os.urandom(6).hex()}"
        self.snapshotter.prepare(key, parent_chain)
        plain: _UnpackStream | None = None
        try:
            source = stream if hasattr(stream, "readinto") else _WholeChunks(stream)
            plain = _UnpackStream(open_layer(source))
            size = apply_layer(plain, self.snapshotter.writable_dir(key),
                               self.snapshotter.whiteout_format)
            plain.drain()
            actual = plain.finish()
            if actual != diff_id:
                raise DigestMismatch(
                    f"layer content digest {actual} does not match diff id {diff_id}")
            with self.db.transaction():
                if self.has_layer(chain_id):  # another process unpacked it meanwhile
                    raise _AlreadyThere
                self.snapshotter.commit(chain_id, key)
                key = ""
                self.db.execute(
                    "INSERT INTO layers (chain_id, diff_id, parent, size, tar_size, snapshot)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (chain_id, diff_id, parent_chain, size, plain.size, chain_id))
        except _AlreadyThere:
            pass
        except (EOFError, ValueError, OSError) as e:
            if isinstance(e, OSError) and e.errno == errno.ENOSPC:
                raise EngineError("no space left on device while unpacking a layer") from None
            if isinstance(e, OSError) and e.errno is not None:
                raise  # a real I/O error, not bad content
            raise CorruptArchive(f"layer {diff_id[:19]} is truncated or corrupt: {e}") from None
        finally:
            if plain is not None:
                plain.finish()
            if key:
                self._discard_extract(key)
        return chain_id

    def _discard_extract(self, key: str) -> None:
        """Drop a half-unpacked layer; its files go first, so a full disk gets room back."""
        import shutil

        with contextlib.suppress(Exception):
            path = self.snapshotter.writable_dir(key)
            for name in os.listdir(path):
                full = os.path.join(path, name)
                if os.path.isdir(full) and not os.path.islink(full):
                    shutil.rmtree(full, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        os.unlink(full)
        with contextlib.suppress(Exception):
            self.snapshotter.remove(key)

    def commit_layer(self, active_key: str, diff_id: str, size: int, tar_size: int,
                     parent_chain: str | None) -> str:
        """Make an active snapshot (a build step's or a container's changes) a shared layer.

        The caller has already written the snapshot's diff as a blob whose uncompressed
        digest is ``diff_id``; the snapshot itself becomes the unpacked layer, so nothing is
        extracted again.  If the layer exists already, the snapshot is removed instead.
        """
        chain_id = diff_id if parent_chain is None else dg.of_bytes(
            f"{parent_chain} {diff_id}".encode())
        with self.db.transaction():
            if self.has_layer(chain_id):
                self.snapshotter.remove(active_key)
                return chain_id
            self.snapshotter.commit(chain_id, active_key)
            self.db.execute(
                "INSERT INTO layers (chain_id, diff_id, parent, size, tar_size, snapshot)"
                " VALUES (?, ?, ?, ?, ?, ?)", (chain_id, diff_id, parent_chain, size, tar_size,
                                               chain_id))
        return chain_id

    def create_image(self, config: ImageConfig, layers: list[LayerRecord], tags: list[str],
                     parent: str = "") -> tuple[ImageRecord, list[str]]:
        """Write config and manifest for an image made here (build, commit) and record it.

        ``layers`` are already unpacked (``commit_layer``) and their blobs stored.
        ``config`` gets its ``rootfs.diff_ids`` from ``layers``.
        """
        from hull.oci import mediatypes as mt
        from hull.oci.descriptor import Descriptor
        from hull.oci.manifest import Manifest

        config.diff_ids = [layer.diff_id for layer in layers]
        config_bytes = config.to_bytes()
        config_desc = self.content.put_bytes(config_bytes, mt.OCI_CONFIG)
        manifest = Manifest(
            config=config_desc,
            layers=tuple(Descriptor(layer.blob_media_type, layer.blob_digest, layer.blob_size)
                         for layer in layers))
        manifest_bytes = manifest.to_bytes()
        manifest_desc = self.content.put_bytes(manifest_bytes, mt.OCI_MANIFEST)
        image, displaced = self.add(
            config_digest=config_desc.digest, created=config.created,
            manifest_digest=manifest_desc.digest, manifest_media_type=mt.OCI_MANIFEST,
            layers=layers, tags=tags)
        if parent:
            with self.db.transaction():
                self.db.execute("UPDATE images SET parent = ? WHERE id = ? AND parent = ''",
                                (parent, image.id))
        return image, displaced

    # ---- changing ------------------------------------------------------------------------

    def add(self, *, config_digest: str, created: str, manifest_digest: str,
            manifest_media_type: str, layers: list[LayerRecord], tags: list[str],
            repo_digests: list[str] = ()) -> tuple[ImageRecord, list[str]]:  # type: ignore[assignment]
        """Record an image whose blobs and layers are all present; point ``tags`` at it.

        Returns the image and the ids of images that lost a tag to it (now maybe dangling).
        """
        size = sum(layer.size for layer in layers)
        now = time.time()
        displaced: list[str] = []
        with self.db.transaction():
            exists = self.db.query_one("SELECT 1 FROM images WHERE id = ?", (config_digest,))
            if not exists:
                self.db.execute(
                    "INSERT INTO images (id, manifest_digest, manifest_media_type, created, size,"
                    " added_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (config_digest, manifest_digest, manifest_media_type, created, size, now))
                for position, layer in enumerate(layers):
                    self.db.execute(
                        "INSERT INTO image_layers (image_id, position, chain_id, blob_digest,"
                        " blob_media_type, blob_size) VALUES (?, ?, ?, ?, ?, ?)",
                        (config_digest, position, layer.chain_id, layer.blob_digest,
                         layer.blob_media_type, layer.blob_size))
            for name in tags:
                old = self._set_ref(name, config_digest, "tag", now)
                if old:
                    displaced.append(old)
            for name in repo_digests:
                self._set_ref(name, config_digest, "digest", now)
        return self.get(config_digest), displaced

    def tag(self, image_id: str, name: str) -> str | None:
        """Point reference ``name`` at the image; return the image it was taken from, if any."""
        with self.db.transaction():
            return self._set_ref(name, image_id, "tag", time.time())

    def add_repo_digest(self, image_id: str, name: str) -> None:
        """Record ``repo@digest`` (a RepoDigest, e.g. after a push) for an image."""
        with self.db.transaction():
            self._set_ref(name, image_id, "digest", time.time())

    def untag(self, name: str) -> str:
        """Remove one reference; return the image id it pointed to."""
        with self.db.transaction():
            row = self.db.query_one("SELECT image_id FROM image_refs WHERE name = ?", (name,))
            if row is None:
                raise NotFound(f"No such image: {name}")
            self.db.execute("DELETE FROM image_refs WHERE name = ?", (name,))
            return row["image_id"]

    def delete(self, image_id: str) -> list[str]:
        """Delete an image and its references; release what no other image uses.

        Returns the chain ids of layers that were removed.
        """
        with self.db.transaction():
            self.db.execute("DELETE FROM image_refs WHERE image_id = ?", (image_id,))
            row = self.db.query_one("SELECT manifest_digest FROM images WHERE id = ?", (image_id,))
            if row is None:
                raise NotFound(f"No such image: {image_id}")
            blobs = {image_id, row["manifest_digest"]}
            layer_rows = self.db.query(
                "SELECT blob_digest, chain_id FROM image_layers WHERE image_id = ?", (image_id,))
            blobs |= {r["blob_digest"] for r in layer_rows}
            chains = {r["chain_id"] for r in layer_rows}
            self.db.execute("DELETE FROM image_layers WHERE image_id = ?", (image_id,))
            self.db.execute("DELETE FROM images WHERE id = ?", (image_id,))
        self.release_blobs(blobs)
        return self.release_layers(chains)

    def release_blobs(self, candidates: set[str]) -> None:
        """Delete blobs among ``candidates`` that no image references any more.

        A gzip copy made for pushing an uncompressed layer (``layer-gzip/<hex>`` maps the
        layer to it) goes with the layer.
        """
        for d in candidates:
            if self._blob_used(d):
                continue
            self.content.delete(d)
            index = os.path.join(self.content.root, "layer-gzip", dg.hex_of(d))
            try:
                with open(index) as f:
                    gz_digest = f.read().split()[0]
            except (OSError, IndexError):
                continue
            if not self._blob_used(gz_digest):
                self.content.delete(gz_digest)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(index)

    def _blob_used(self, d: str) -> bool:
        """Referenced by an image, or by the build cache (which keeps its layers' blobs)."""
        return self.db.query_one(
            "SELECT 1 FROM images WHERE id = ? OR manifest_digest = ?"
            " UNION SELECT 1 FROM image_layers WHERE blob_digest = ?"
            " UNION SELECT 1 FROM build_cache WHERE instr(layers, ?) LIMIT 1",
            (d, d, d, d)) is not None

    def release_layers(self, candidates: set[str] | None = None) -> list[str]:
        """Remove unpacked layers that no image, snapshot or build-cache entry uses; return their ids.

        ``candidates`` limits the removal to those layers (and, transitively, their parents).
        """
        removed: list[str] = []
        while True:
            rows = self.db.query(
                "SELECT chain_id, parent FROM layers l WHERE"
                " NOT EXISTS (SELECT 1 FROM image_layers il WHERE il.chain_id = l.chain_id)"
                " AND NOT EXISTS (SELECT 1 FROM layers c WHERE c.parent = l.chain_id)"
                " AND NOT EXISTS (SELECT 1 FROM snapshots s WHERE s.parent = l.chain_id)"
                " AND NOT EXISTS (SELECT 1 FROM build_cache b WHERE instr(b.layers, l.chain_id))")
            if candidates is not None:
                rows = [r for r in rows if r["chain_id"] in candidates]
            if not rows:
                return removed
            for r in rows:
                chain_id = r["chain_id"]
                if candidates is not None and r["parent"]:
                    candidates.add(r["parent"])
                with self.db.transaction():
                    self.db.execute("DELETE FROM layers WHERE chain_id = ?", (chain_id,))
                    self.snapshotter.remove(chain_id)
                removed.append(chain_id)

    def cleanup(self) -> None:
        """Remove what an interrupted import left behind (temp blobs, half-unpacked layers)."""
        self.content.clean_ingest()
        self.snapshotter.cleanup()
        for info in self.snapshotter.walk():
            if info.kind == "active" and info.key.startswith(EXTRACT_PREFIX):
                pid = info.key[len(EXTRACT_PREFIX):].split("-", 1)[0]
                if pid.isdigit() and not pid_alive(int(pid)):
                    with contextlib.suppress(Exception):
                        self.snapshotter.remove(info.key)

    # ---- helpers -------------------------------------------------------------------------

    def _set_ref(self, name: str, image_id: str, kind: str, now: float) -> str | None:
        row = self.db.query_one("SELECT image_id FROM image_refs WHERE name = ?", (name,))
        if row is not None and row["image_id"] == image_id:
            return None
        self.db.execute(
            "INSERT INTO image_refs (name, image_id, kind, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id,"
            " created_at = excluded.created_at", (name, image_id, kind, now))
        return row["image_id"] if row is not None else None

    def _refs_by_image(self) -> dict[str, list[tuple[str, str]]]:
        out: dict[str, list[tuple[str, str]]] = {}
        for r in self.db.query("SELECT name, kind, image_id FROM image_refs ORDER BY name"):
            out.setdefault(r["image_id"], []).append((r["name"], r["kind"]))
        return out

    def _layers_by_image(self) -> dict[str, list]:
        out: dict[str, list] = {}
        for r in self.db.query(
                "SELECT il.*, l.diff_id, l.size FROM image_layers il JOIN layers l USING (chain_id)"
                " ORDER BY il.image_id, il.position"):
            out.setdefault(r["image_id"], []).append(r)
        return out

    @staticmethod
    def _record(row, refs: list[tuple[str, str]], layers: list) -> ImageRecord:  # type: ignore[no-untyped-def]
        return ImageRecord(
            id=row["id"],
            manifest_digest=row["manifest_digest"],
            manifest_media_type=row["manifest_media_type"],
            created=row["created"],
            size=int(row["size"]),
            added_at=float(row["added_at"]),
            tags=tuple(n for n, k in refs if k == "tag"),
            digests=tuple(n for n, k in refs if k == "digest"),
            layers=tuple(
                LayerRecord(chain_id=r["chain_id"], diff_id=r["diff_id"], size=int(r["size"]),
                            blob_digest=r["blob_digest"], blob_media_type=r["blob_media_type"],
                            blob_size=int(r["blob_size"]))
                for r in layers),
        )


class _AlreadyThere(Exception):
    """Another process committed the same layer first."""


class _WholeChunks:
    """Lets a decompressor ``readinto`` its buffer from a stream that only has ``read``.

    Streams handed over by a copy (network reads, tees) hold chunks of 1 MiB; asking them
    for the decompressor's smaller reads slices each chunk into fresh copies before they
    are copied again into its buffer.  Taking whole chunks and copying once from them
    makes decompression, the slowest step of a pull, about a third faster.
    """

    CHUNK = 1 << 20

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._chunk = b""
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        if self._pos < len(self._chunk):
            end = len(self._chunk) if n is None or n < 0 else self._pos + n
            data = self._chunk[self._pos:end]
            self._pos += len(data)
            return data
        return self._stream.read(n)

    def readinto(self, buf) -> int:  # type: ignore[no-untyped-def]
        if self._pos >= len(self._chunk):
            self._chunk, self._pos = self._stream.read(self.CHUNK), 0
            if not self._chunk:
                return 0
        view = memoryview(buf).cast("B")
        count = min(len(view), len(self._chunk) - self._pos)
        view[:count] = memoryview(self._chunk)[self._pos:self._pos + count]
        self._pos += count
        return count

    def readable(self) -> bool:
        return True


class _UnpackStream:
    """The uncompressed layer for unpacking: decompressed and hashed on helper threads.

    Unpacking a pulled layer is decompressing, hashing and writing files.  On one thread
    they take turns; here a reader thread decompresses ahead into a bounded queue and a
    hasher thread hashes what it read (both let go of the GIL), so the unpacking thread
    only parses the tar and writes.  A layer that fits in one chunk never starts the
    threads.  :meth:`finish` stops them and returns the digest of everything read.
    """

    CHUNK = 1 << 20
    DEPTH = 8

    def __init__(self, stream: BinaryIO) -> None:
        import hashlib

        self._stream = stream
        self._hash = hashlib.sha256()
        self._threads: list = []  # type: ignore[type-arg]
        self._ready = None  # chunks (or the reader's error) for the unpacking thread
        self._to_hash = None
        self._stop = False
        self._pending = b""  # part of a chunk not handed out yet
        self._eof = False
        self._digest = ""
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        n = self.CHUNK if n is None or n < 0 else n
        if not self._pending and not self._eof:
            self._pending = self._next_chunk()
            if not self._pending:
                self._eof = True
        data, self._pending = self._pending[:n], self._pending[n:]
        return data

    def _next_chunk(self) -> bytes:
        if self._ready is None:
            data = self._stream.read(self.CHUNK)
            self._account(data, self._hash.update)
            if len(data) == self.CHUNK:
                self._start()
            return data
        item = self._ready.get()
        if isinstance(item, BaseException):
            self._eof = True
            raise item
        return item

    def _account(self, data: bytes, hash_it) -> None:  # type: ignore[no-untyped-def]
        if data:
            self.size += len(data)
            hash_it(data)

    def _start(self) -> None:
        import queue
        import threading

        self._ready = queue.Queue(self.DEPTH)
        self._to_hash = queue.Queue(self.DEPTH * 4)
        self._threads = [threading.Thread(target=self._read_ahead, name="hull-unpack-read",
                                          daemon=True),
                         threading.Thread(target=self._hash_chunks, name="hull-unpack-hash",
                                          daemon=True)]
        for thread in self._threads:
            thread.start()

    def _read_ahead(self) -> None:
        try:
            while not self._stop:
                data = bytes(self._stream.read(self.CHUNK))
                self._account(data, self._to_hash.put)  # type: ignore[union-attr]
                self._hand_over(data)
                if not data:
                    return
        except BaseException as e:  # raised to the unpacking thread where it reads
            self._hand_over(e)

    def _hand_over(self, item: bytes | BaseException) -> None:
        import queue

        while not self._stop:
            try:
                self._ready.put(item, timeout=0.1)  # type: ignore[union-attr]
                return
            except queue.Full:
                continue

    def _hash_chunks(self) -> None:
        while (chunk := self._to_hash.get()) is not None:  # type: ignore[union-attr]
            self._hash.update(chunk)

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        """Read (and hash) whatever is left in the stream."""
        while self.read(self.CHUNK):
            pass

    def finish(self) -> str:
        """Stop the helper threads (once); the digest of everything read.

        After a failure the reader may be inside a read of a stalled source; it is given
        a while, then left behind (it stops at its next chunk).
        """
        if not self._digest:
            self._stop = True
            for thread in self._threads[:1]:
                thread.join(None if self._eof else 30)
            if self._to_hash is not None:
                self._to_hash.put(None)
            for thread in self._threads[1:]:
                thread.join()
            self._digest = "sha256:" + self._hash.hexdigest()
        return self._digest
