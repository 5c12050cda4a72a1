"""Produce a layer blob in one pass: tar -> diff id hash -> compressor -> digest hash -> file.

Committing a container or a build step needs three numbers at once: the diff id
(sha256 of the uncompressed tar, for the image config), the digest and size of the
compressed blob (for the manifest).  Streaming through hashing writers gets them
without writing the tar twice or reading it back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, Literal

from hull.archive.compression import CompressingWriter
from hull.errors import InvalidArgument


@dataclass(frozen=True)
class LayerBlob:
    diff_id: str  # sha256 of the uncompressed tar
    digest: str  # sha256 of the bytes written to ``out``
    size: int  # bytes written to ``out``
    uncompressed_size: int
    compression: Literal["gzip", "zstd", "none"]


class HashingWriter:
    """Forwards writes to ``inner`` while hashing and counting them."""

    def __init__(self, inner: BinaryIO | CompressingWriter) -> None:
        self._inner = inner
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._hash.update(data)
        self.size += len(data)
        self._inner.write(data)
        return len(data)

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        pass

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


def write_layer_blob(produce: Callable[[BinaryIO], None], out: BinaryIO,
                     compression: Literal["gzip", "zstd", "none"] = "gzip",
                     level: int | None = None) -> LayerBlob:
    """Run ``produce(stream)`` (e.g. ``lambda s: write_overlay_diff(upper, s)``) and write
    the tar it emits to ``out``, compressed; return the hashes and sizes."""
    if compression not in ("gzip", "zstd", "none"):
        raise InvalidArgument(f"unknown layer compression {compression!r}: "
                              f"use gzip, zstd or none")
    blob = HashingWriter(out)
    compressor = None
    if compression != "none":
        compressor = CompressingWriter(blob, compression, level)  # type: ignore[arg-type]
    tar = HashingWriter(compressor if compressor is not None else blob)  # type: ignore[arg-type]
    produce(tar)  # type: ignore[arg-type]
    if compressor is not None:
        compressor.finish()
    return LayerBlob(diff_id=tar.digest, digest=blob.digest, size=blob.size,
                     uncompressed_size=tar.size, compression=compression)
