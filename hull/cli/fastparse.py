"""Option tables that serve both click and a click-free parser for the hottest commands.

``hull run`` and ``hull exec`` are the commands people time.  Importing click and building
its option objects costs more than the rest of their parsing, so each of these commands
describes its flags once, as :class:`Option` rows: :func:`click_options` turns the rows into
click decorators (help, errors, completion), and :func:`parse` reads an ordinary command
line with the same rules click applies.  When :func:`parse` meets anything unusual
(``--help``, an unknown or malformed flag, a bad number) it returns None and the click
command takes over, so every error message still comes from one place.
"""

from __future__ import annotations

FLAG = "flag"      # --rm: True when given
VALUE = "value"    # --name NAME: the last value given, else None
MULTI = "multi"    # -e A=B -e C=D: a tuple of every value given
INT = "int"        # --pids-limit N: an int, else None
BOOL = "bool"      # --sig-proxy=false: a bool value, default True

_TRUE = ("1", "true", "t", "yes", "y", "on")
_FALSE = ("0", "false", "f", "no", "n", "off")


class Option:
    """One flag: its spellings, the keyword it fills, its kind and its help line."""

    __slots__ = ("dest", "help", "kind", "names")

    def __init__(self, names: tuple[str, ...], dest: str, kind: str, help: str) -> None:
        self.names = names
        self.dest = dest
        self.kind = kind
        self.help = help

    def default(self) -> object:
        if self.kind == FLAG:
            return False
        if self.kind == MULTI:
            return ()
        if self.kind == BOOL:
            return True
        return None


def click_options(options: tuple[Option, ...]):  # type: ignore[no-untyped-def]
    """A decorator adding ``options`` to a click command, in table order."""
    import click

    def decorate(fn):  # type: ignore[no-untyped-def]
        for opt in reversed(options):
            kw: dict[str, object] = {"help": opt.help}
            if opt.kind == FLAG:
                kw["is_flag"] = True
            elif opt.kind == MULTI:
                kw["multiple"] = True
            elif opt.kind == INT:
                kw.update(type=int, default=None)
            elif opt.kind == BOOL:
                kw.update(type=bool, default=True)
            else:
                kw["default"] = None
            fn = click.option(*opt.names, opt.dest, **kw)(fn)
        return fn

    return decorate


def parse(args: list[str], options: tuple[Option, ...]
          ) -> tuple[dict[str, object], list[str]] | None:
    """(values by keyword, positional arguments) as click would give them, or None.

    Options end at the first positional argument (click's ``allow_interspersed_args=False``)
    or at ``--``.  Short flags combine (``-it``), and a short option that takes a value takes
    the rest of its word or the next word (``-p8080:80``, ``-dp 80:80``).
    """
    by_name = {name: opt for opt in options for name in opt.names}
    lists: dict[str, list[str]] = {}
    values: dict[str, object] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        if arg.startswith("--"):
            name, eq, rest = arg.partition("=")
            opt = by_name.get(name)
            if opt is None or (opt.kind == FLAG and eq):
                return None
            if opt.kind == FLAG:
                values[opt.dest] = True
            else:
                value, i = _value(args, i, rest if eq else None)
                if value is None or not _store(opt, value, values, lists):
                    return None
            i += 1
            continue
        for j in range(1, len(arg)):
            opt = by_name.get("-" + arg[j])
            if opt is None:
                return None
            if opt.kind == FLAG:
                values[opt.dest] = True
                continue
            value, i = _value(args, i, arg[j + 1:] or None)
            if value is None or not _store(opt, value, values, lists):
                return None
            break
        i += 1
    for opt in options:
        if opt.kind == MULTI:
            values[opt.dest] = tuple(lists.get(opt.dest, ()))
        elif opt.dest not in values:
            values[opt.dest] = opt.default()
    return values, args[i:]


def _value(args: list[str], i: int, attached: str | None) -> tuple[str | None, int]:
    """An option's value: attached to its word (``--name=x``, ``-p80``), else the next word;
    with the index of the word it came from."""
    if attached is not None:
        return attached, i
    i += 1
    return (args[i] if i < len(args) else None), i


def _store(opt: Option, value: str, values: dict[str, object], lists: dict[str, list[str]]
           ) -> bool:
    if opt.kind == MULTI:
        lists.setdefault(opt.dest, []).append(value)
    elif opt.kind == INT:
        try:
            values[opt.dest] = int(value)
        except ValueError:
            return False
    elif opt.kind == BOOL:
        lowered = value.strip().lower()
        if lowered in _TRUE:
            values[opt.dest] = True
        elif lowered in _FALSE:
            values[opt.dest] = False
        else:
            return False
    else:
        values[opt.dest] = value
    return True
