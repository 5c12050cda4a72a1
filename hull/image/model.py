"""The read model of a local image."""

from __future__ import annotations

from hull.record import field, record


@record(frozen=True)
class LayerRecord:
    """One layer of an image: its place in the stack and where it is stored."""

    chain_id: str
    diff_id: str
    size: int  # unpacked bytes of this layer alone
    blob_digest: str
    blob_media_type: str
    blob_size: int


@record(frozen=True)
class ImageRecord:
    """An image in the local store; ``id`` is its config digest."""

    id: str
    manifest_digest: str
    manifest_media_type: str
    created: str
    size: int
    added_at: float
    tags: tuple[str, ...] = ()  # normalised names, e.g. docker.io/library/busybox:latest
    digests: tuple[str, ...] = ()  # repo@digest references (RepoDigests)
    layers: tuple[LayerRecord, ...] = field(default_factory=tuple)

    @property
    def short_id(self) -> str:
        return self.id.split(":", 1)[-1][:12]

    @property
    def top_chain_id(self) -> str | None:
        return self.layers[-1].chain_id if self.layers else None
