"""A registry repository as a transport: the source of ``pull``, the destination of ``push``."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from hull.oci.descriptor import Descriptor
from hull.transports.base import ImageDestination, ImageSource

if TYPE_CHECKING:
    from hull.registry.client.distribution import Repository

MAX_DOWNLOADS = 3  # Docker's default max-concurrent-downloads
MAX_UPLOADS = 5  # Docker's default max-concurrent-uploads


class RegistrySource(ImageSource):
    """An image in a registry, named by tag or digest."""

    parallel_blobs = MAX_DOWNLOADS

    def __init__(self, repo: Repository, reference: str) -> None:
        self.repo = repo
        self.reference = reference
        self._top: tuple[bytes, str, str] | None = None

    def top(self) -> tuple[bytes, str, str]:
        """(bytes, media type, digest) of the manifest or index the reference names."""
        if self._top is None:
            self._top = self.repo.get_manifest(self.reference)
        return self._top

    @property
    def digest(self) -> str:
        """The digest of what the reference names (an index's, for multi-platform images)."""
        return self.top()[2]

    def manifest(self, digest: str | None = None) -> tuple[bytes, str]:
        if digest is None or digest == self.top()[2]:
            data, media_type, _ = self.top()
            return data, media_type
        data, media_type, _ = self.repo.get_manifest(digest)
        return data, media_type

    def open_blob(self, desc: Descriptor) -> BinaryIO:
        return self.repo.open_blob(desc)  # type: ignore[return-value]


class RegistryDestination(ImageDestination):
    """Uploads blobs (or mounts them from ``mount_sources`` of the same registry) and
    puts the manifest under ``tag``."""

    parallel_blobs = MAX_UPLOADS

    def __init__(self, repo: Repository, tag: str, mount_sources: list[str] | None = None
                 ) -> None:
        self.repo = repo
        self.tag = tag
        self.mount_sources = [s for s in (mount_sources or []) if s != repo.name]
        self.pushed_digest = ""
        self.pushed_size = 0
        self._present: set[str] = set()
        self._absent: set[str] = set()
        self._lock = threading.Lock()
        self._config_thread: threading.Thread | None = None
        self._config_error: BaseException | None = None

    def has_blob(self, desc: Descriptor) -> bool:
        with self._lock:
            if desc.digest in self._present:
                return True
            if desc.digest in self._absent:
                return False
        if self.repo.blob_size(desc.digest) is None:
            with self._lock:
                self._absent.add(desc.digest)
            return False
        with self._lock:
            self._present.add(desc.digest)
        return True

    def put_blob(self, open_stream: Callable[[], BinaryIO], desc: Descriptor) -> str:
        note = ""
        for source in self.mount_sources:
            if self.repo.mount_blob(desc.digest, source):
                note = f"Mounted from {source}"
                break
        else:
            self.repo.upload_blob(desc, open_stream)
        with self._lock:
            self._present.add(desc.digest)
            self._absent.discard(desc.digest)
        return note

    def put_config(self, data: bytes, desc: Descriptor) -> None:
        """Send the config on a thread of its own, alongside the layers; the manifest
        waits for it."""

        def send() -> None:
            try:
                if not self.has_blob(desc):
                    self.put_blob(lambda: io.BytesIO(data), desc)
            except BaseException as e:  # raised again by put_manifest
                self._config_error = e

        self._config_thread = threading.Thread(target=send, name="hull-config", daemon=True)
        self._config_thread.start()

    def put_layer(self, open_stream: Callable[[], BinaryIO], desc: Descriptor, diff_id: str,
                  index: int, diff_size: int | None) -> Descriptor:
        if not self.has_blob(desc):
            self.put_blob(open_stream, desc)
        return desc

    def put_manifest(self, data: bytes, media_type: str, names: list[str]) -> None:
        if self._config_thread is not None:
            self._config_thread.join()
            self._config_thread = None
        if self._config_error is not None:
            raise self._config_error
        self.pushed_digest = self.repo.put_manifest(self.tag, data, media_type)
        self.pushed_size = len(data)
