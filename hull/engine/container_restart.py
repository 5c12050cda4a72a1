"""Restart policies: Docker's ``--restart`` grammar and the record kept in HostConfig.

The decision to restart (and the back-off) is made by the shim, see
:mod:`hull.shim.restart`; this module parses and checks what the user gave.
"""

from __future__ import annotations

from typing import Any

from hull.errors import InvalidArgument

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
    import socket

    from hull.shim import protocol as proto
    from hull.shim.sockpath import unix_path

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            with unix_path(attach_socket) as short:
                s.connect(short)
            s.sendall(proto.json_frame(proto.REQUEST, {"op": "stop"}))
    except OSError:
        pass
