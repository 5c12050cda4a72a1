"""Flag helpers shared by commands: ``--filter`` lists, Docker-style booleans."""

from __future__ import annotations

import click

from hull.errors import InvalidArgument


def parse_filters(values: tuple[str, ...]) -> dict[str, list[str]]:
    """``-f key=value`` flags as {key: [values]}, with Docker's error for a missing '='."""
    out: dict[str, list[str]] = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"bad format of filter (expected name=value): {v}")
        out.setdefault(key.strip().lower(), []).append(value)
    return out


class GoBool(click.ParamType):
    """A boolean flag value written the Go way: ``-H=false``, ``--human=true``."""

    name = "bool"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, bool):
            return value
        text = str(value).lstrip("=").strip().lower()
        if text in ("1", "t", "true", "yes", "y", "on", ""):
            return True
        if text in ("0", "f", "false", "no", "n", "off"):
            return False
        self.fail(f"invalid argument {value!r}: strconv.ParseBool: parsing {value!r}: invalid syntax",
                  param, ctx)


GO_BOOL = GoBool()


def json_dump(doc: object) -> str:
    """JSON as Docker's CLI indents it (4 spaces, no HTML escaping, non-ASCII kept)."""
    import json

    return json.dumps(doc, indent=4, ensure_ascii=False)
