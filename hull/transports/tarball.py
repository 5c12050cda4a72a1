"""A root filesystem tarball as an image source (``hull import``).

The tarball becomes the single layer of a new image whose config is built from
``--change`` instructions and ``--message``; the layer is stored as given
(plain, gzip or zstd), so its bytes are not rewritten.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from hull import digest as dg
from hull.errors import CorruptArchive
from hull.oci import mediatypes as mt
from hull.oci.descriptor import Descriptor, Platform
from hull.oci.image import HistoryEntry, ImageConfig
from hull.oci.manifest import Manifest
from hull.transports.base import ImageSource


def rfc3339_now() -> str:
    """The current UTC time as Docker writes it (RFC 3339 with nanoseconds)."""
    import time

    ns = time.time_ns()
    secs, frac = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"


class TarballSource(ImageSource):
    """A (possibly compressed) rootfs tar on disk, seekable, read twice: hashed, then copied."""

    def __init__(self, path: str, config: dict, platform: Platform, comment: str) -> None:
        from hull.archive.compression import open_layer

        self.path = path
        with open(path, "rb") as f:
            magic = f.read(4)
        self.media_type = (mt.OCI_LAYER_GZIP if magic.startswith(b"\x1f\x8b") else
                           mt.OCI_LAYER_ZSTD if magic == b"\x28\xb5\x2f\xfd" else mt.OCI_LAYER)
        if self.media_type == mt.OCI_LAYER:
            digest, size = dg.of_file(path)
            self.diff_id, self.diff_size = digest, size
        else:
            with open(path, "rb") as raw:
                outer = dg.HashingReader(raw)
                try:
                    inner = dg.HashingReader(open_layer(outer))  # type: ignore[arg-type]
                    inner.drain()
                except (EOFError, ValueError, OSError) as e:
                    if isinstance(e, OSError) and e.errno is not None:
                        raise
                    raise CorruptArchive(f"{path}: cannot decompress: {e}") from None
                outer.drain()
            digest, size = outer.digest, outer.size
            self.diff_id, self.diff_size = inner.digest, inner.size
        self.layer = Descriptor(self.media_type, digest, size)
        created = rfc3339_now()
        image = ImageConfig({
            "architecture": platform.architecture,
            "os": platform.os,
            "created": created,
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [self.diff_id]},
        })
        if platform.variant:
            image.doc["variant"] = platform.variant
        image.history = [HistoryEntry(created=created, comment=comment)]
        self.config_bytes = image.to_bytes()
        config_desc = Descriptor(mt.OCI_CONFIG, dg.of_bytes(self.config_bytes),
                                 len(self.config_bytes))
        self.manifest_bytes = Manifest(config=config_desc, layers=(self.layer,)).to_bytes()

    def manifest(self, digest: str | None = None) -> tuple[bytes, str]:
        return self.manifest_bytes, mt.OCI_MANIFEST

    def open_blob(self, desc: Descriptor) -> BinaryIO:
        if desc.digest == self.layer.digest:
            return open(self.path, "rb")
        return io.BytesIO(self.config_bytes)

    def layer_diff_size(self, desc: Descriptor) -> int | None:
        return self.diff_size
