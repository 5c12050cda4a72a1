"""Go's ``path.Clean``: Docker cleans WORKDIR paths and .dockerignore patterns with it.

``posixpath.normpath`` differs (it keeps a leading ``//`` and turns ``""`` into
``"."`` the same way, but not the rest), so patterns and paths are cleaned here
exactly as Docker cleans them.
"""

from __future__ import annotations


def clean(path: str) -> str:
    """Shortest equivalent slash path: no ``//``, ``.`` or resolvable ``..`` parts."""
    if not path:
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    text = "/".join(parts)
    if rooted:
        return "/" + text
    return text or "."


def join(*elements: str) -> str:
    """``path.Join``: join the non-empty elements with ``/`` and clean the result."""
    present = [e for e in elements if e]
    return clean("/".join(present)) if present else ""
