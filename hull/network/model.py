"""A network as stored, and Docker's NetworkResource document for ``network inspect``."""

from __future__ import annotations

import json

from hull.record import field, record

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

PREDEFINED = ("bridge", "host", "none")


@record
class Network:
    id: str
    name: str
    driver: str
    created: str
    subnet: str = ""
    gateway: str = ""
    ip_range: str = ""
    internal: bool = False
    bridge: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Any) -> Network:
        return cls(row["id"], row["name"], row["driver"], row["created"], row["subnet"],
                   row["gateway"], row["ip_range"], bool(row["internal"]), row["bridge"],
                   json.loads(row["data"] or "{}"))

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.data.get("Labels") or {})

    @property
    def options(self) -> dict[str, str]:
        return dict(self.data.get("Options") or {})

    @property
    def predefined(self) -> bool:
        return bool(self.data.get("Predefined"))

    @property
    def is_bridge(self) -> bool:
        return self.driver == "bridge"

    @property
    def user_defined(self) -> bool:
        """Docker's distinction: only user-defined networks get the embedded DNS."""
        return self.is_bridge and not self.predefined

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def resource(self, containers: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Docker's NetworkResource (``docker network inspect`` output)."""
        config = []
        if self.subnet:
            entry = {"Subnet": self.subnet, "Gateway": self.gateway}
            if self.ip_range:
                entry["IPRange"] = self.ip_range
            config.append(entry)
        options = self.options
        if self.bridge and self.predefined:
            options = {"com.docker.network.bridge.name": self.bridge,
                       "com.docker.network.bridge.default_bridge": "true", **options}
        return {
            "Name": self.name, "Id": self.id, "Created": self.created, "Scope": "local",
            "Driver": self.driver, "EnableIPv6": False,
            "IPAM": {"Driver": "default", "Options": {} if not self.predefined else None,
                     "Config": config},
            "Internal": self.internal, "Attachable": False, "Ingress": False,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
            "Containers": containers, "Options": options, "Labels": self.labels,
        }
