"""copy_image: the one way an image moves between two transports.

It resolves an index to one platform's manifest, and hands the destination
streams that verify digest and size as they are read; nothing else in hull
verifies image content coming from outside.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import BinaryIO

from hull.errors import CorruptArchive, NotFound
from hull.oci import mediatypes as mt
from hull.oci.descriptor import Descriptor, Platform
from hull.oci.image import ConfigError, ImageConfig
from hull.oci.manifest import Index, Manifest, ManifestError
from hull.transports.base import CopyResult, ImageDestination, ImageSource
from hull.transports.verify import VerifyingReader

Progress = Callable[[str, Descriptor], None]


def host_platform() -> Platform:
    import platform

    machine = platform.machine()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(machine,
                                                                                        machine)
    return Platform(os="linux", architecture=arch, variant="v7" if arch == "arm" else "")


def choose_manifest(index: Index, platform: Platform) -> Descriptor:
    """The index entry for ``platform`` (variant optional, like Docker's matcher)."""
    candidates = [m for m in index.manifests if m.media_type in mt.MANIFESTS + mt.INDEXES]
    for m in candidates:
        p = m.platform
        if p and p.os == platform.os and p.architecture == platform.architecture and (
                not platform.variant or not p.variant or p.variant == platform.variant):
            return m
    if len(candidates) == 1 and candidates[0].platform is None:
        return candidates[0]
    raise NotFound(f"no matching manifest for {platform} in the manifest list entries")


def read_verified(src: ImageSource, desc: Descriptor, what: str) -> bytes:
    with src.open_blob(desc) as raw:
        reader = VerifyingReader(raw, desc.digest, desc.size, what)
        chunks = []
        while chunk := reader.read(1 << 20):
            chunks.append(chunk)
    return b"".join(chunks)


def resolve_manifest(src: ImageSource, platform: Platform | None) -> tuple[bytes, str]:
    """The single-platform manifest of ``src``: follows indexes down to one manifest."""
    data, media_type = src.manifest()
    for _ in range(4):  # nested indexes are legal; bounded
        try:
            from hull.oci.manifest import sniff_media_type

            media_type = sniff_media_type(data, media_type)
        except ManifestError as e:
            raise CorruptArchive(str(e)) from None
        if media_type not in mt.INDEXES:
            return data, media_type
        try:
            index = Index.from_bytes(data, media_type)
        except ManifestError as e:
            raise CorruptArchive(str(e)) from None
        child = choose_manifest(index, platform or host_platform())
        data, media_type = src.manifest(child.digest)
        from hull import digest as dg

        if dg.of_bytes(data) != child.digest:
            raise CorruptArchive(f"manifest {child.digest} does not match its digest")
        media_type = media_type or child.media_type
    raise CorruptArchive("manifest indexes nest too deeply")


class CopyObserver:
    """Hears what a copy does to each layer blob; front ends draw progress from it.

    Events: ``waiting``, ``exists`` (the destination has it), ``transferring``,
    ``transferred`` (read to the end and verified), ``applying``, ``applied``.
    Methods may be called from worker threads.
    """

    def image(self, manifest: Manifest, diff_ids: list[str]) -> None:
        """The manifest being copied (after platform resolution) and its layers' diff ids."""

    def layer(self, desc: Descriptor, event: str, detail: str = "") -> None:
        """A layer blob changed state."""

    def layer_bytes(self, desc: Descriptor, done: int) -> None:
        """``done`` bytes of a layer blob have been read so far."""


class CopyCancelled(Exception):
    """The copy failed elsewhere; a worker stops reading."""


class _Counting:
    """Reports bytes read to the observer and stops when the copy is cancelled."""

    def __init__(self, stream: BinaryIO, desc: Descriptor, observer: CopyObserver,
                 cancel: threading.Event) -> None:
        self._stream = stream
        self._desc = desc
        self._observer = observer
        self._cancel = cancel
        self._done = 0

    def read(self, n: int = -1) -> bytes:
        if self._cancel.is_set():
            raise CopyCancelled("copy cancelled")
        data = self._stream.read(n)
        if data:
            self._done += len(data)
            self._observer.layer_bytes(self._desc, self._done)
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._stream.close()


def copy_image(src: ImageSource, dest: ImageDestination, *, names: list[str] | None = None,
               platform: Platform | None = None, progress: Progress | None = None,
               observer: CopyObserver | None = None) -> CopyResult:
    """Copy one image from ``src`` to ``dest``; return its id and manifest digest."""
    try:
        return _copy(src, dest, names, platform, progress, observer or CopyObserver())
    except BaseException:
        dest.abort()
        raise


def _copy(src: ImageSource, dest: ImageDestination, names: list[str] | None,
          platform: Platform | None, progress: Progress | None,
          observer: CopyObserver) -> CopyResult:
    data, media_type = resolve_manifest(src, platform)
    try:
        manifest = Manifest.from_bytes(data, media_type)
    except ManifestError as e:
        raise CorruptArchive(str(e)) from None
    config_bytes = read_verified(src, manifest.config, "image config")
    try:
        config = ImageConfig.from_bytes(config_bytes)
    except ConfigError as e:
        raise CorruptArchive(str(e)) from None
    diff_ids = config.diff_ids
    if len(diff_ids) != len(manifest.layers):
        raise CorruptArchive(f"image has {len(manifest.layers)} layers but its config lists"
                             f" {len(diff_ids)}")
    for layer in manifest.layers:
        if layer.media_type and layer.media_type not in mt.LAYERS:
            raise CorruptArchive(f"unsupported layer media type {layer.media_type}")
    observer.image(manifest, list(diff_ids))
    dest.put_config(config_bytes, manifest.config)
    cancel = threading.Event()

    def opener(layer: Descriptor) -> BinaryIO:
        observer.layer(layer, "transferring")
        counted = _Counting(src.open_blob(layer), layer, observer, cancel)
        return VerifyingReader(counted, layer.digest, layer.size, "layer")  # type: ignore[arg-type,return-value]

    workers = min(src.parallel_blobs, dest.parallel_blobs)
    if len(manifest.layers) <= 1 and dest.streams_single_layer:
        workers = 1
    pool, ahead = _start_transfers(dest, manifest.layers, workers, opener, observer, cancel)
    try:
        for index, layer in enumerate(manifest.layers):
            if progress:
                progress("layer", layer)
            if layer.digest in ahead:
                ahead[layer.digest].result()
            elif dest.has_blob(layer):
                observer.layer(layer, "exists")
            observer.layer(layer, "applying")
            dest.put_layer(lambda layer=layer: opener(layer), layer, diff_ids[index], index,
                           src.layer_diff_size(layer))
            observer.layer(layer, "applied")
    except BaseException:
        cancel.set()
        raise
    finally:
        if pool is not None:
            pool.shutdown()
    all_names = list(names if names is not None else src.names())
    dest.put_manifest(data, manifest.media_type, all_names)
    dest.commit()
    from hull import digest as dg

    return CopyResult(image_id=manifest.config.digest, manifest_digest=dg.of_bytes(data),
                      names=all_names)


class _Transfer:
    """One layer's transfer on the pool; :meth:`result` waits for it and raises its error."""

    def __init__(self, fn: Callable[[Descriptor], None], layer: Descriptor) -> None:
        self._fn = fn
        self._layer = layer
        self._done = threading.Event()
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._fn(self._layer)
        except BaseException as e:  # handed to whoever waits for the result
            self._error = e
        finally:
            self._done.set()

    def cancel(self) -> None:
        self._error = CopyCancelled("copy cancelled")
        self._done.set()

    def result(self) -> None:
        self._done.wait()
        if self._error is not None:
            raise self._error


class _TransferPool:
    """A few threads working through a fixed list of transfers, first come first served.

    (concurrent.futures would do, but importing it pulls in logging: milliseconds of
    every push and pull.)
    """

    def __init__(self, workers: int, transfers: list[_Transfer]) -> None:
        self._queue = list(reversed(transfers))
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, name=f"hull-blob_{i}")
                         for i in range(min(workers, len(transfers)))]
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    return
                transfer = self._queue.pop()
            transfer.run()

    def shutdown(self) -> None:
        """Cancel the transfers not started yet and wait for the running ones."""
        with self._lock:
            waiting, self._queue = self._queue, []
        for transfer in waiting:
            transfer.cancel()
        for thread in self._threads:
            thread.join()


def _start_transfers(dest: ImageDestination, layers: tuple[Descriptor, ...], workers: int,
                     opener: Callable[[Descriptor], BinaryIO], observer: CopyObserver,
                     cancel: threading.Event) -> tuple[_TransferPool | None, dict[str, _Transfer]]:
    """Transfer layer blobs on ``workers`` threads ahead of the in-order layer hand-over."""
    if workers <= 1:
        return None, {}

    def transfer(layer: Descriptor) -> None:
        if cancel.is_set():
            raise CopyCancelled("copy cancelled")
        if dest.has_blob(layer):
            observer.layer(layer, "exists")
            return
        note = dest.put_blob(lambda: opener(layer), layer)
        observer.layer(layer, "transferred", note)

    ahead: dict[str, _Transfer] = {}
    for layer in layers:
        if layer.digest not in ahead:
            observer.layer(layer, "waiting")
            ahead[layer.digest] = _Transfer(transfer, layer)
    return _TransferPool(workers, list(ahead.values())), ahead
