"""Instruction flags (``COPY --from=x``): Docker's ``BFlags`` rules and messages.

Each instruction declares the flags it accepts, then :meth:`FlagSet.parse` checks the
``--name[=value]`` words the parser collected: unknown names, duplicates, missing
values and bad booleans are errors worded like Docker's.
"""

from __future__ import annotations

from hull.build.suggest import with_suggestion
from hull.errors import InvalidArgument
from hull.record import field, record


class FlagError(InvalidArgument):
    """A flag on an instruction is unknown or malformed."""


@record
class Flag:
    """One declared flag and the value(s) it received."""

    name: str
    kind: str  # "bool", "string" or "strings"
    value: str = ""
    values: list[str] = field(default_factory=list)
    used: bool = False

    @property
    def is_true(self) -> bool:
        return self.value == "true"


class FlagSet:
    """The flags given on one instruction, checked against those it declares."""

    def __init__(self, args: list[str]) -> None:
        self.args = list(args)
        self.flags: dict[str, Flag] = {}
        self.used_order: list[str] = []

    def _add(self, name: str, kind: str, default: str = "") -> Flag:
        flag = Flag(name, kind, default)
        self.flags[name] = flag
        return flag

    def add_bool(self, name: str, default: bool = False) -> Flag:
        return self._add(name, "bool", "true" if default else "false")

    def add_string(self, name: str, default: str = "") -> Flag:
        return self._add(name, "string", default)

    def add_strings(self, name: str) -> Flag:
        return self._add(name, "strings")

    def parse(self) -> None:
        for arg in self.args:
            if arg == "--":
                return  # everything after "--" is an operand, never a flag
            if not arg.startswith("--"):
                raise FlagError(f"arg should start with -- : {arg}")
            flag_name, has_value, value = arg.partition("=")
            name = flag_name[2:]
            flag = self.flags.get(name)
            if flag is None:
                raise FlagError(with_suggestion(f"unknown flag: {flag_name}", name,
                                                self.flags, case_sensitive=True))
            if flag.used and flag.kind != "strings":
                raise FlagError(f"duplicate flag specified: {flag_name}")
            if not flag.used:
                self.used_order.append(name)
            flag.used = True
            if flag.kind == "bool":
                if has_value and value == "":
                    raise FlagError(f"missing a value on flag: {flag_name}")
                lowered = value.lower()
                if lowered in ("true", ""):
                    flag.value = "true"
                elif lowered == "false":
                    flag.value = "false"
                else:
                    raise FlagError(
                        f"expecting boolean value for flag {flag_name}, not: {value}")
            elif not has_value:
                raise FlagError(f"missing a value on flag: {flag_name}")
            elif flag.kind == "string":
                flag.value = value
            else:
                flag.values.append(value)
