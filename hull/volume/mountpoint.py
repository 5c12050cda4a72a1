"""One mount point of a container, as the engine keeps it between create and start."""

from __future__ import annotations

from hull import record as records
from hull.record import record

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

VOLUME, BIND, TMPFS = "volume", "bind", "tmpfs"
DEFAULT_PROPAGATION = "rprivate"  # Docker's for binds and volumes


@record
class MountPoint:
    type: str                       # VOLUME, BIND or TMPFS
    destination: str                # absolute, cleaned path inside the container
    source: str = ""                # bind: host path; volume: its _data (set when attached)
    name: str = ""                  # volume name ("" until an anonymous one is made)
    driver: str = ""                # volume driver ("local")
    rw: bool = True
    mode: str = ""                  # the -v mode text, shown by inspect
    propagation: str = ""           # bind propagation; "" means Docker's rprivate
    copy_data: bool = False         # seed a new, empty volume with the image's files
    named: bool = False             # the user named the volume: ``rm -v`` keeps it
    create_source: bool = False     # -v bind: create a missing host directory
    non_recursive: bool = False     # bind without submounts
    volume_options: dict[str, str] | None = None   # driver options if the mount creates it
    volume_labels: dict[str, str] | None = None
    tmpfs_data: str = ""            # tmpfs mount data ("size=64m,mode=1777")
    listed: bool = True             # shown in inspect's Mounts (--tmpfs ones are not)

    def to_dict(self) -> dict[str, Any]:
        return records.asdict(self)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> MountPoint:
        known = {f.name for f in records.fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in known})

    def inspect_doc(self) -> dict[str, Any]:
        """Docker's container ``Mounts`` entry (API MountPoint)."""
        doc: dict[str, Any] = {"Type": self.type}
        if self.name:
            doc["Name"] = self.name
        doc["Source"] = self.source
        doc["Destination"] = self.destination
        if self.driver:
            doc["Driver"] = self.driver
        doc["Mode"] = self.mode
        doc["RW"] = self.rw
        doc["Propagation"] = self.propagation
        return doc
