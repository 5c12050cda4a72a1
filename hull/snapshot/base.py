"""The snapshotter interface (containerd's shape).

A snapshot is a directory tree identified by a key.  Committed snapshots are
read-only and can be parents; active snapshots are writable and belong to one
user (a container's writable layer, a layer being unpacked, a build step).
Methods return :class:`Mount` records rather than paths, so the overlay and the
copying backends are interchangeable: whoever needs the tree mounts the records
(:func:`hull.snapshot.mount.mount_all`) on a target of its choice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from hull.record import field, record

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Literal


@record(frozen=True)
class Mount:
    """One mount(2) call: ``mount -t TYPE -o OPTIONS SOURCE <target>``."""

    type: str  # "overlay" or "bind"
    source: str
    options: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        """The OCI runtime-spec shape of a root mount (without destination)."""
        return {"type": self.type, "source": self.source, "options": list(self.options)}


@record(frozen=True)
class SnapshotInfo:
    key: str
    parent: str | None
    kind: Literal["active", "view", "committed"]
    backend: str


class Snapshotter(ABC):
    """Stores layered directory trees."""

    name: str
    #: How a layer tar's whiteouts must be written into ``writable_dir``:
    #: "overlay" (0/0 char devices and the opaque xattr; the parent is *not* present
    #: in the directory) or "delete" (the directory holds the full tree; delete files).
    whiteout_format: Literal["overlay", "delete"]

    @abstractmethod
    def prepare(self, key: str, parent: str | None = None) -> list[Mount]:
        """Create a writable snapshot on top of the committed ``parent``; return its mounts."""

    @abstractmethod
    def view(self, key: str, parent: str) -> list[Mount]:
        """Create a read-only snapshot of the committed ``parent``; return its mounts."""

    @abstractmethod
    def mounts(self, key: str) -> list[Mount]:
        """The mounts of an existing active or view snapshot."""

    @abstractmethod
    def commit(self, name: str, key: str) -> None:
        """Turn the active snapshot ``key`` into the committed snapshot ``name``."""

    @abstractmethod
    def remove(self, key: str) -> None:
        """Remove a snapshot; refuses a committed one that still has children."""

    @abstractmethod
    def stat(self, key: str) -> SnapshotInfo | None:
        """What is known about ``key``, or None when it does not exist."""

    @abstractmethod
    def writable_dir(self, key: str) -> str:
        """The directory where changes to an active snapshot land (overlay: the upperdir).

        Layer unpacking writes here directly, with ``whiteout_format``; no mount needed.
        """

    @abstractmethod
    def usage(self, key: str) -> int:
        """Bytes used by this snapshot's own changes (not its parents')."""

    @abstractmethod
    def walk(self) -> list[SnapshotInfo]:
        """Every snapshot."""

    @abstractmethod
    def cleanup(self) -> list[str]:
        """Delete storage no snapshot owns (what a crash left behind); return what went."""
