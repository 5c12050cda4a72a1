"""``ps`` filters with Docker's semantics: id, name, label, status, ancestor, exited, before,
since (and until for prune)."""

from __future__ import annotations

import re
import time

from hull.engine.container_model import STATUSES, Container
from hull.errors import InvalidArgument

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from hull.engine.containers import ContainerService

PS_FILTERS = {"id", "name", "label", "label!", "status", "ancestor", "exited", "before",
              "since", "network", "volume", "health", "publish", "expose", "isolation",
              "is-task"}


def matches_labels(c: Container, wanted: list[str], unwanted: list[str] = ()) -> bool:  # type: ignore[assignment]
    labels = c.config.get("Labels") or {}

    def has(spec: str) -> bool:
        key, sep, value = spec.partition("=")
        return key in labels and (not sep or labels[key] == value)

    return all(has(w) for w in wanted) and not any(has(u) for u in unwanted)


def until_cutoffs(values: list[str]) -> list[float]:
    from hull.cli.humanize import parse_timestamp

    now = time.time()
    return [parse_timestamp(v, now) for v in values]


def status_of(c: Container) -> str:
    return str(c.state.get("Status") or "created")


def filter_containers(service: ContainerService, containers: list[Container],
                      filters: dict[str, list[str]]) -> list[Container]:
    """Keep the containers that match every filter key (values of one key are OR-ed)."""
    unknown = set(filters) - PS_FILTERS
    if unknown:
        raise InvalidArgument(f"invalid filter '{sorted(unknown)[0]}'")
    out = containers
    if filters.get("id"):
        out = [c for c in out if any(c.id.startswith(v) for v in filters["id"])]
    if filters.get("name"):
        patterns = []
        for v in filters["name"]:
            try:
                patterns.append(re.compile(v.lstrip("/")))
            except re.error:
                raise InvalidArgument(f"invalid filter 'name={v}'") from None
        out = [c for c in out if any(p.search(c.name) for p in patterns)]
    if filters.get("label") or filters.get("label!"):
        out = [c for c in out if matches_labels(c, filters.get("label", []),
                                                filters.get("label!", []))]
    if filters.get("status"):
        for v in filters["status"]:
            if v not in STATUSES:
                raise InvalidArgument(f"Invalid filter 'status={v}'")
        out = [c for c in out if status_of(c) in filters["status"]]
    if filters.get("exited"):
        codes = []
        for v in filters["exited"]:
            if not v.lstrip("-").isdigit():
                raise InvalidArgument(f"invalid filter 'exited={v}'")
            codes.append(int(v))
        out = [c for c in out if status_of(c) == "exited" and
               int(c.state.get("ExitCode") or 0) in codes]
    if filters.get("ancestor"):
        image_ids = set()
        for v in filters["ancestor"]:
            try:
                image_ids.add(service.engine.images.get(v).id)
            except Exception:
                continue
        out = [c for c in out if c.image_id in image_ids or
               c.config.get("Image") in filters["ancestor"]]
    for key in ("before", "since"):
        for v in filters.get(key, []):
            pivot = service.store.find(v)
            if key == "before":
                out = [c for c in out if c.created_at < pivot.created_at]
            else:
                out = [c for c in out if c.created_at > pivot.created_at]
    if filters.get("network"):
        out = [c for c in out if any(
            n in (c.data.get("NetworkSettings") or {}).get("Networks", {})
            for n in filters["network"])]
    return out
