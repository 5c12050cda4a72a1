"""A container's stored record: Docker's ContainerJSON shape plus hull's private bookkeeping.

The ``containers`` table keeps ``id``, ``name`` and ``image_id`` as columns (so name
uniqueness and ``rmi``'s in-use check are plain SQL) and everything else as one JSON
document that is already shaped like ``docker inspect`` output.  hull's own fields live under
the ``Hull`` key and are stripped before the document is shown.
"""

from __future__ import annotations

import json
import os
import time

from hull.record import field, record

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"

CREATED, RUNNING, PAUSED, RESTARTING, REMOVING, EXITED, DEAD = (
    "created", "running", "paused", "restarting", "removing", "exited", "dead")
STATUSES = (CREATED, RESTARTING, RUNNING, REMOVING, PAUSED, EXITED, DEAD)


def new_id() -> str:
    """A random 64-hex-digit id, like Docker's (never all digits: Docker avoids those too)."""
    while True:
        cid = os.urandom(32).hex()
        if not cid[:12].isdigit():
            return cid


def rfc3339_nano(ns: int | None = None) -> str:
    """Go's RFC3339Nano in UTC: ``2024-01-02T15:04:05.123456789Z`` (trailing zeros dropped)."""
    ns = time.time_ns() if ns is None else ns
    secs, frac = divmod(ns, 1_000_000_000)
    out = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    digits = f"{frac:09d}".rstrip("0")
    return out + ("." + digits if digits else "") + "Z"


def parse_time(text: str) -> float:
    """Unix seconds of an RFC 3339 UTC time written by :func:`rfc3339_nano` (0 for zero time)."""
    if not text or text.startswith("0001-"):
        return 0.0
    import calendar

    base, _, frac = text.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs + (float("0." + frac) if frac else 0.0)


def fresh_state() -> dict[str, Any]:
    return {"Status": CREATED, "Running": False, "Paused": False, "Restarting": False,
            "OOMKilled": False, "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "",
            "StartedAt": ZERO_TIME, "FinishedAt": ZERO_TIME}


@record
class Container:
    """One container as stored; ``data`` is the inspect-shaped document."""

    id: str
    name: str
    image_id: str
    created_at: float
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: Any) -> Container:
        return cls(row["id"], row["name"], row["image_id"], row["created_at"],
                   json.loads(row["data"]))

    def dumps(self) -> str:
        return json.dumps(self.data)

    # ---- convenient views -----------------------------------------------------------------

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def state(self) -> dict[str, Any]:
        return self.data["State"]

    @property
    def config(self) -> dict[str, Any]:
        return self.data["Config"]

    @property
    def host_config(self) -> dict[str, Any]:
        return self.data["HostConfig"]

    @property
    def hull(self) -> dict[str, Any]:
        return self.data.setdefault("Hull", {})

    @property
    def status(self) -> str:
        return str(self.state.get("Status", CREATED))

    @property
    def running(self) -> bool:
        return bool(self.state.get("Running"))

    @property
    def runtime_name(self) -> str:
        return str(self.host_config.get("Runtime") or "builtin")

    @property
    def snapshot_key(self) -> str:
        return f"container-{self.id}"

    def status_text(self, now: float | None = None) -> str:
        """Docker's STATUS column: "Up 3 seconds", "Exited (0) 2 minutes ago", "Created"."""
        from hull.cli.humanize import human_duration

        now = time.time() if now is None else now
        st = self.state
        if st.get("Running"):
            up = human_duration(now - parse_time(st.get("StartedAt", "")))
            if st.get("Paused"):
                return f"Up {up} (Paused)"
            if st.get("Restarting"):
                ago = human_duration(now - parse_time(st.get("FinishedAt", "")))
                return f"Restarting ({st.get('ExitCode', 0)}) {ago} ago"
            health = (st.get("Health") or {}).get("Status")
            if health:
                return f"Up {up} ({'health: ' if health == 'starting' else ''}{health})"
            return f"Up {up}"
        if st.get("Status") == REMOVING:
            return "Removal In Progress"
        if st.get("Dead"):
            return "Dead"
        if parse_time(st.get("StartedAt", "")) == 0:
            return "Created"
        finished = parse_time(st.get("FinishedAt", ""))
        if finished == 0:
            return ""
        return f"Exited ({st.get('ExitCode', 0)}) {human_duration(now - finished)} ago"

    def command_line(self) -> str:
        """Path and Args as one line (the COMMAND column before quoting)."""
        parts = [self.data.get("Path", ""), *(self.data.get("Args") or [])]
        return " ".join(p for p in parts if p is not None).strip()

    def inspect_doc(self) -> dict[str, Any]:
        """The document ``docker inspect`` would show (hull's private fields removed)."""
        doc = {"Id": self.id, "Created": self.data.get("Created", ZERO_TIME)}
        for key, value in self.data.items():
            if key not in ("Hull", "Created"):
                doc[key] = value
        doc["Name"] = "/" + self.name
        return doc


def shim_alive(pid: int, start: int) -> bool:
    """Whether the process ``pid`` that started at ``start`` (clock ticks) still runs."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return False
    fields = raw[raw.rindex(b")") + 2:].split()
    return int(fields[19]) == start and fields[0] not in (b"Z", b"X")
