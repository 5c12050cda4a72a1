"""Volume names and the wording of volume errors, as Docker's local driver has them."""

from __future__ import annotations

import os
import re

LOCAL_DRIVER = "local"
ANONYMOUS_LABEL = "com.docker.volume.anonymous"
RESTRICTED_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
_VALID_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")


def go_quote(text: str) -> str:
    """Go's ``%q`` for the plain strings names are made of."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def op_error(op: str, name: str, message: str) -> str:
    """Docker's volume OpErr text: ``create NAME: message``."""
    return f"{op} {name}: {message}" if name else f"{op}: {message}"


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a local volume, or None when it can.

    The name becomes a directory under ``<root>/volumes``, so anything that could leave
    that directory (``/``, ``..``) is refused, exactly as Docker refuses it.
    """
    if len(name) == 1:
        return ("volume name is too short, names should be at least two alphanumeric"
                " characters")
    if not _VALID_NAME.fullmatch(name):
        return (f"{go_quote(name)} includes invalid characters for a local volume name, only"
                f" {go_quote(RESTRICTED_NAME_CHARS)} are allowed. If you intended to pass a"
                " host directory, use absolute path")
    return None


def anonymous_name() -> str:
    """A random 64-hex-digit name, like the ids Docker gives anonymous volumes."""
    return os.urandom(32).hex()
