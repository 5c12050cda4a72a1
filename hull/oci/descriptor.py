"""Content descriptors and platforms (OCI image spec, descriptor.md)."""

from __future__ import annotations

from hull.record import field, record

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any


@record(frozen=True)
class Platform:
    """An image's target platform."""

    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""
    os_version: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Platform:
        return cls(
            os=d.get("os", ""),
            architecture=d.get("architecture", ""),
            variant=d.get("variant", ""),
            os_version=d.get("os.version", ""),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"architecture": self.architecture, "os": self.os}
        if self.os_version:
            out["os.version"] = self.os_version
        if self.variant:
            out["variant"] = self.variant
        return out

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/arch[/variant]`` as ``--platform`` takes it."""
        parts = text.strip().lower().split("/")
        if len(parts) == 1:
            return cls(os="linux", architecture=parts[0])
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"invalid platform {text!r}: expected os/arch[/variant]")
        return cls(os=parts[0], architecture=parts[1], variant=parts[2] if len(parts) == 3 else "")

    def __str__(self) -> str:
        s = f"{self.os}/{self.architecture}"
        return f"{s}/{self.variant}" if self.variant else s


@record(frozen=True)
class Descriptor:
    """A pointer to content: media type, digest and size, plus optional extras."""

    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    urls: tuple[str, ...] = ()
    artifact_type: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Descriptor:
        plat = d.get("platform")
        return cls(
            media_type=d.get("mediaType", ""),
            digest=d["digest"],
            size=int(d["size"]),
            annotations=dict(d.get("annotations") or {}),
            platform=Platform.from_dict(plat) if plat else None,
            urls=tuple(d.get("urls") or ()),
            artifact_type=d.get("artifactType", ""),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_dict()
        if self.urls:
            out["urls"] = list(self.urls)
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        return out
