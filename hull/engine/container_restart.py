"""Restart policies: Docker's ``--restart`` grammar and the record kept in HostConfig.

The decision to restart (and the back-off) is made by the shim, see
:mod:`hull.shim.restart`; this module parses and checks what the user gave.
"""

from __future__ import annotations

from hull.errors import InvalidArgument

TYPE_CHECKING = False  # typing itself costs milliseconds to import
if TYPE_CHECKING:
    from typing import Any

POLICIES = ("no", "always", "unless-stopped", "on-failure")


def parse_restart_policy(text: str | None) -> dict[str, Any]:
    """``on-failure:3`` -> {"Name": "on-failure", "MaximumRetryCount": 3}."""
    value = (text or "no").strip()
    name, sep, count = value.partition(":")
    if name == "":
        name = "no"
    if name not in POLICIES:
        raise InvalidArgument(f"invalid restart policy '{name}'", exit_code=125)
    retries = 0
    if sep:
        if name != "on-failure":
            raise InvalidArgument(f"maximum retry count cannot be used with restart policy"
                                  f" '{name}'", exit_code=125)
        try:
            retries = int(count)
        except ValueError:
            raise InvalidArgument(f"maximum retry count must be an integer: {count}",
                                  exit_code=125) from None
        if retries < 0:
            raise InvalidArgument("maximum retry count cannot be negative", exit_code=125)
    return {"Name": name, "MaximumRetryCount": retries}


def check_with_auto_remove(policy: dict[str, Any], auto_remove: bool) -> None:
    if auto_remove and policy.get("Name") not in ("", "no"):
        raise InvalidArgument("Conflicting options: --restart and --rm", exit_code=125)


def request_stop(attach_socket: str) -> None:
    """Tell a container's shim that the user stops it (best effort: it may be gone)."""
    from hull.shim.client import send_request

    send_request(attach_socket, {"op": "stop"})


def update_restart_policy(service: Any, ref: str, text: str) -> None:
    """``hull update --restart``: record the policy and tell a running shim at once."""
    from hull.shim.client import send_request

    policy = parse_restart_policy(text)
    c = service.get(ref)
    if c.host_config.get("AutoRemove") and policy["Name"] != "no":
        raise InvalidArgument("Restart policy cannot be updated because AutoRemove is enabled"
                              " for the container")
    service.store.update(c.id, lambda r: r.host_config.update(RestartPolicy=policy))
    send_request(service.paths(c.id).attach_socket, {
        "op": "update", "restart_policy": policy["Name"],
        "restart_max": policy["MaximumRetryCount"]})


def should_restore(c: Any) -> bool:
    """After a reboot: ``always`` containers start again, ``unless-stopped`` ones unless a
    user stopped them (Docker's daemon start)."""
    name = (c.host_config.get("RestartPolicy") or {}).get("Name") or "no"
    if c.running:
        return False
    return name == "always" or (name == "unless-stopped" and not c.hull.get("ManuallyStopped"))


def restore(service: Any) -> list[tuple[str, str | None]]:
    """Start every container :func:`should_restore` picks; (name, error or None) for each."""
    from hull.errors import HullError

    results: list[tuple[str, str | None]] = []
    for c in service.list():
        if not should_restore(c):
            continue
        try:
            started = service.start(c.id)
            if started is not None:
                started.sock.close()
            results.append((c.name, None))
        except HullError as e:
            results.append((c.name, str(e)))
    return results
