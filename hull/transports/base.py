"""The two sides of an image copy.

A source yields a manifest (or an index of them) and blobs; a destination takes
blobs and a manifest and then commits.  Sources and destinations never verify
digests themselves: :func:`hull.transports.copy.copy_image` wraps every stream
it hands over in a verifying reader.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import BinaryIO

from hull.oci.descriptor import Descriptor
from hull.record import field, record


class ImageSource(ABC):
    """Where an image comes from."""

    #: How many blobs may be read at once (remote sources gain from parallel transfers).
    parallel_blobs: int = 1

    @abstractmethod
    def manifest(self, digest: str | None = None) -> tuple[bytes, str]:
        """The top-level manifest or index (``digest`` None), or a child manifest by digest."""

    @abstractmethod
    def open_blob(self, desc: Descriptor) -> BinaryIO:
        """A stream of the blob's bytes (verified by the caller)."""

    def names(self) -> list[str]:
        """References the source names this image by (e.g. RepoTags of an archive)."""
        return []

    def layer_diff_size(self, desc: Descriptor) -> int | None:
        """The uncompressed size of a layer when the source knows it cheaply."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files or connections."""


class ImageDestination(ABC):
    """Where an image goes."""

    #: Layers must be given in order, uncompressed on the way if the destination wants.
    wants_uncompressed_layers: bool = False
    #: How many blobs ``put_blob`` may take at once; above 1 (on both sides) the copy
    #: transfers layer blobs in parallel before handing the layers over in order.
    parallel_blobs: int = 1
    #: A lone layer is better handed straight to ``put_layer`` (transfer and unpacking
    #: overlap) than transferred ahead.
    streams_single_layer: bool = False

    @abstractmethod
    def has_blob(self, desc: Descriptor) -> bool:
        """True when the blob need not be sent."""

    @abstractmethod
    def put_config(self, data: bytes, desc: Descriptor) -> None:
        """Take the image config (already verified); always called, before any layer."""

    @abstractmethod
    def put_layer(self, open_stream: Callable[[], BinaryIO], desc: Descriptor, diff_id: str,
                  index: int, diff_size: int | None) -> Descriptor:
        """Store layer ``index`` (in stack order); return the descriptor actually stored.

        ``open_stream`` opens the (verified) blob; a destination that already has the
        layer need not call it.  ``diff_size`` is the uncompressed tar size when known.
        """

    def put_blob(self, open_stream: Callable[[], BinaryIO], desc: Descriptor) -> str:
        """Store a layer blob ahead of ``put_layer`` (called from worker threads).

        The stream verifies itself when read to its end.  Returns a note for progress
        output ('' or e.g. ``Mounted from team/base``).  Only called when
        ``parallel_blobs`` > 1.
        """
        raise NotImplementedError

    @abstractmethod
    def put_manifest(self, data: bytes, media_type: str, names: list[str]) -> None:
        """Store the (possibly rewritten) manifest and point ``names`` at the image."""

    def commit(self) -> None:  # noqa: B027 - optional hook
        """Make everything put so far visible."""

    def abort(self) -> None:  # noqa: B027 - optional hook
        """The copy failed: undo what was put so far."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources; an uncommitted copy is abandoned."""


@record
class CopyResult:
    """What a copy did: the image id (config digest), manifest digest and names."""

    image_id: str
    manifest_digest: str
    names: list[str] = field(default_factory=list)
