"""A volume as stored, and the document ``hull volume inspect`` shows for it."""

from __future__ import annotations

import json
import os

from hull.record import record
from hull.volume.names import ANONYMOUS_LABEL

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any


def volumes_dir(root: str) -> str:
    return os.path.join(root, "volumes")


def data_dir(root: str, name: str) -> str:
    """Where a volume's files live (Docker's layout, so tools that know it find them)."""
    return os.path.join(root, "volumes", name, "_data")


def rfc3339_local(ts: float) -> str:
    """Go's time.RFC3339 in local time, as Docker prints a volume's CreatedAt."""
    from datetime import datetime

    text = datetime.fromtimestamp(int(ts)).astimezone().isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


@record
class Volume:
    name: str
    driver: str
    labels: dict[str, str] | None
    options: dict[str, str] | None
    created_at: float
    remove_with: str = ""  # a container whose removal also removes this (anonymous) volume

    @classmethod
    def from_row(cls, row: Any) -> Volume:
        return cls(row["name"], row["driver"], json.loads(row["labels"]),
                   json.loads(row["options"]), row["created_at"], row["remove_with"])

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in (self.labels or {})

    @property
    def needs_mount(self) -> bool:
        """Local-driver options name a filesystem to mount at ``_data`` while in use."""
        opts = self.options or {}
        return bool(opts.get("type") or opts.get("device"))

    def doc(self, root: str) -> dict[str, Any]:
        """Docker's Volume JSON (keys in Docker's order)."""
        return {
            "CreatedAt": rfc3339_local(self.created_at),
            "Driver": self.driver,
            "Labels": self.labels,
            "Mountpoint": data_dir(root, self.name),
            "Name": self.name,
            "Options": self.options,
            "Scope": "local",
        }
