"""Image configuration (OCI image spec config.md, Docker's image JSON).

An image's id is the digest of its config bytes, so a config read from outside
is kept byte for byte; this model is a typed view over the parsed document and
a way to write new ones.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hull.record import field, record


class ConfigError(ValueError):
    """An image config document is malformed."""


@record
class HistoryEntry:
    """One step of how an image was made; ``empty_layer`` steps changed only metadata."""

    created: str = ""
    created_by: str = ""
    comment: str = ""
    author: str = ""
    empty_layer: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HistoryEntry:
        return cls(
            created=d.get("created", "") or "",
            created_by=d.get("created_by", "") or "",
            comment=d.get("comment", "") or "",
            author=d.get("author", "") or "",
            empty_layer=bool(d.get("empty_layer", False)),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.created:
            out["created"] = self.created
        if self.author:
            out["author"] = self.author
        if self.created_by:
            out["created_by"] = self.created_by
        if self.comment:
            out["comment"] = self.comment
        if self.empty_layer:
            out["empty_layer"] = True
        return out


@record
class ImageConfig:
    """A typed view of an image config document; ``doc`` is the whole parsed JSON."""

    doc: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_bytes(cls, data: bytes) -> ImageConfig:
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise ConfigError(f"image config is not valid JSON: {e}") from None
        if not isinstance(doc, dict):
            raise ConfigError("image config is not a JSON object")
        rootfs = doc.get("rootfs")
        if not isinstance(rootfs, dict) or not isinstance(rootfs.get("diff_ids", []), list):
            raise ConfigError("image config has no rootfs.diff_ids list")
        return cls(doc)

    def to_bytes(self) -> bytes:
        """Compact, key-sorted JSON: the same config always gives the same id."""
        return json.dumps(self.doc, separators=(",", ":"), sort_keys=True).encode()

    def clone(self) -> ImageConfig:
        return ImageConfig(copy.deepcopy(self.doc))

    @property
    def diff_ids(self) -> list[str]:
        return list((self.doc.get("rootfs") or {}).get("diff_ids") or [])

    @diff_ids.setter
    def diff_ids(self, value: list[str]) -> None:
        self.doc["rootfs"] = {"type": "layers", "diff_ids": list(value)}

    @property
    def history(self) -> list[HistoryEntry]:
        return [HistoryEntry.from_dict(h) for h in self.doc.get("history") or []]

    @history.setter
    def history(self, value: list[HistoryEntry]) -> None:
        self.doc["history"] = [h.to_dict() for h in value]

    @property
    def config(self) -> dict[str, Any]:
        """The runtime defaults (Env, Cmd, Entrypoint, WorkingDir, ...); created when absent."""
        cfg = self.doc.get("config")
        if not isinstance(cfg, dict):
            cfg = {}
            self.doc["config"] = cfg
        return cfg

    @property
    def created(self) -> str:
        return self.doc.get("created", "") or ""

    @property
    def architecture(self) -> str:
        return self.doc.get("architecture", "") or ""

    @property
    def os(self) -> str:
        return self.doc.get("os", "") or ""

    @property
    def variant(self) -> str:
        return self.doc.get("variant", "") or ""

    @property
    def author(self) -> str:
        return self.doc.get("author", "") or ""

    @property
    def comment(self) -> str:
        return self.doc.get("comment", "") or ""

    @property
    def labels(self) -> dict[str, str]:
        return dict((self.doc.get("config") or {}).get("Labels") or {})
