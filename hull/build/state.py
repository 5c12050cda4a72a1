"""The image a build stage has reached so far: config document plus layers.

Each build step turns one :class:`ImageState` into the next.  A state is identified by
the digest of its config (with ``rootfs.diff_ids`` filled in), which is exactly the id
the image would get if the build stopped there, so the cache can key a step on the
state it started from, as Docker's classic builder keys on the parent image id.
"""

from __future__ import annotations

import json
import time

from hull import digest as dg
from hull.image.model import LayerRecord
from hull.oci.runtime_spec import DEFAULT_PATH
from hull.record import field, record

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any


def now_rfc3339() -> str:
    """The current UTC time with nanoseconds, as Docker writes ``created``."""
    ts = time.time()
    secs = int(ts)
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
            + f".{int((ts - secs) * 1e9):09d}Z")


def layer_to_dict(layer: LayerRecord) -> dict[str, Any]:
    return {"chain_id": layer.chain_id, "diff_id": layer.diff_id, "size": layer.size,
            "blob_digest": layer.blob_digest, "blob_media_type": layer.blob_media_type,
            "blob_size": layer.blob_size}


def layer_from_dict(d: dict[str, Any]) -> LayerRecord:
    return LayerRecord(chain_id=d["chain_id"], diff_id=d["diff_id"], size=int(d["size"]),
                       blob_digest=d["blob_digest"], blob_media_type=d["blob_media_type"],
                       blob_size=int(d["blob_size"]))


def _copy_json(value: Any) -> Any:
    """A deep copy of a JSON document (dicts, lists and scalars), without copy.deepcopy's
    memo and dispatch."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value


@record
class ImageState:
    """A config document and the layers under it; ``digest`` is its would-be image id."""

    doc: dict[str, Any]
    layers: list[LayerRecord] = field(default_factory=list)

    @classmethod
    def scratch(cls, os_name: str, architecture: str, variant: str = "") -> ImageState:
        """The empty image ``FROM scratch`` starts from (BuildKit gives it a default PATH)."""
        doc: dict[str, Any] = {"architecture": architecture, "os": os_name,
                               "config": {"Env": [f"PATH={DEFAULT_PATH}"]},
                               "rootfs": {"type": "layers", "diff_ids": []}, "history": []}
        if variant:
            doc["variant"] = variant
        return cls(doc)

    @classmethod
    def from_image(cls, config_bytes: bytes, layers: list[LayerRecord]) -> ImageState:
        return cls(json.loads(config_bytes), list(layers))

    def clone(self) -> ImageState:
        return ImageState(_copy_json(self.doc), list(self.layers))

    @property
    def config(self) -> dict[str, Any]:
        cfg = self.doc.get("config")
        if not isinstance(cfg, dict):
            cfg = {}
            self.doc["config"] = cfg
        return cfg

    @property
    def top_chain(self) -> str | None:
        return self.layers[-1].chain_id if self.layers else None

    def to_bytes(self) -> bytes:
        """The config bytes the image store would write (same rules as ImageConfig)."""
        self.doc["rootfs"] = {"type": "layers",
                              "diff_ids": [layer.diff_id for layer in self.layers]}
        return json.dumps(self.doc, separators=(",", ":"), sort_keys=True).encode()

    @property
    def digest(self) -> str:
        return dg.of_bytes(self.to_bytes())

    # ---- config helpers --------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.config.get("Env") or []:
            key, _, value = item.partition("=")
            out[key] = value
        return out

    def set_env(self, key: str, value: str) -> None:
        env = [e for e in (self.config.get("Env") or []) if e.partition("=")[0] != key]
        env.append(f"{key}={value}")
        self.config["Env"] = env

    @property
    def workdir(self) -> str:
        return self.config.get("WorkingDir") or "/"

    @property
    def user(self) -> str:
        return self.config.get("User") or ""

    @property
    def shell(self) -> tuple[str, ...]:
        return tuple(self.config.get("Shell") or ("/bin/sh", "-c"))

    def add_history(self, created_by: str, empty_layer: bool, comment: str = "") -> None:
        entry: dict[str, Any] = {"created": now_rfc3339(), "created_by": created_by}
        if comment:
            entry["comment"] = comment
        if empty_layer:
            entry["empty_layer"] = True
        self.doc.setdefault("history", []).append(entry)
        self.doc["created"] = entry["created"]
