"""Mount points as runtime-spec ``mounts`` entries, merged into a container's config.json."""

from __future__ import annotations

import posixpath

from hull.volume.mountpoint import DEFAULT_PROPAGATION, TMPFS, MountPoint

TMPFS_DEFAULTS = ("noexec", "nosuid", "nodev")


def oci_mount(mp: MountPoint, source: str) -> dict:
    """The entry for one mount point; ``source`` is the host path (bind, volume data)."""
    if mp.type == TMPFS:
        options = [*TMPFS_DEFAULTS, DEFAULT_PROPAGATION]
        options += [o for o in mp.tmpfs_data.split(",") if o]
        return {"destination": mp.destination, "type": "tmpfs", "source": "tmpfs",
                "options": options}
    options = ["bind" if mp.non_recursive else "rbind"]
    if not mp.rw:
        options.append("ro")
    options.append(mp.propagation or DEFAULT_PROPAGATION)
    return {"destination": mp.destination, "type": "bind", "source": source,
            "options": options}


def _depth(destination: str) -> int:
    return posixpath.normpath(destination).count("/")


def _under(path: str, parent: str) -> bool:
    return parent == "/" or path.startswith(parent.rstrip("/") + "/")


def merge_mounts(spec: dict, user: list[dict]) -> None:
    """Put the user's mounts into ``spec`` the way Docker does.

    A user mount replaces a default one at the same destination (a mount on /dev drops
    the default /dev/* ones); user mounts go shallowest first so none hides another; a
    default mount below a user mount (``/etc/hosts`` under a volume on ``/etc``) moves
    after it so it stays visible.  Shared or slave bind propagation needs a root
    filesystem that propagates that way.
    """
    if not user:
        return
    destinations = {m["destination"] for m in user}
    mounts_dev = "/dev" in destinations
    kept = [m for m in spec.get("mounts") or []
            if m["destination"] not in destinations
            and not (mounts_dev and m["destination"].startswith("/dev/"))]
    before = [m for m in kept
              if not any(_under(m["destination"], d) for d in destinations)]
    after = [m for m in kept if m not in before]
    spec["mounts"] = before + sorted(user, key=lambda m: _depth(m["destination"])) + after
    options = {o for m in user for o in m.get("options") or ()}
    linux = spec.setdefault("linux", {})
    if options & {"shared", "rshared"}:
        linux["rootfsPropagation"] = "rshared"
    elif options & {"slave", "rslave"} and linux.get("rootfsPropagation") != "rshared":
        linux["rootfsPropagation"] = "rslave"
