"""Docker's ``--format`` semantics, in one place for every command.

Two shapes of output exist:

* one item (``inspect``, ``version``, ``info``): :func:`render_one` executes the user's
  Go template against the item, nothing else;
* lists (``images``, ``ps``, ``volume ls``, ...): :func:`render_list` applies Docker's
  rules — empty or ``table`` means the command's default table; ``table TEMPLATE`` prints
  a header row and aligns columns like Go's tabwriter (minwidth 10, padding 3);
  ``json`` prints one JSON object per row; any other template prints one line per row
  with no header or alignment.  Literal ``\\t`` and ``\\n`` typed in the flag become tab
  and newline, as in Docker.

Template errors surface as one line prefixed ``template parsing error:`` like Docker's.
"""

from __future__ import annotations

import re

from hull.errors import InvalidArgument

TABLE_KEY = "table"
JSON_KEY = "json"
# docker/cli: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
TAB_MINWIDTH = 10
TAB_PADDING = 3
_FIELD_RE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)")


def is_table(fmt: str) -> bool:
    """Docker's Format.IsTable: the format starts with ``table``."""
    return fmt.startswith(TABLE_KEY)


def is_json(fmt: str) -> bool:
    """Docker's Format.IsJSON: the format is exactly ``json``."""
    return fmt == JSON_KEY


def render_one(fmt: str, item: object) -> str:
    """Execute ``fmt`` against one item (``inspect -f``, ``version -f``, ``info -f``).

    ``json`` prints the item as compact JSON.  The result carries no trailing newline.
    Escapes such as ``\\t`` are not interpreted here, as in Docker's inspect.
    """
    from hull.template import TemplateError, parse_cached

    if is_json(fmt):
        from hull.template.gojson import dumps

        return dumps(item)
    try:
        template = parse_cached(fmt)
    except TemplateError as e:
        raise InvalidArgument(f"template parsing error: {e}", exit_code=64)
    try:
        return template.execute(item)
    except TemplateError as e:
        raise InvalidArgument(f"template parsing error: {e}")


def render_list(fmt: str, rows: list[object], headers: dict[str, str],
                default_table: str) -> str:
    """Render rows for a listing command; every output line ends with a newline.

    ``headers`` maps field names to column titles (``{"ID": "IMAGE ID"}``); fields not
    in it are titled with their name in upper case.  ``default_table`` is the command's
    table template, used when ``fmt`` is empty or just ``table``.
    """
    if fmt in ("", TABLE_KEY):
        fmt = default_table
    if is_json(fmt):
        from hull.template.gojson import dumps

        return "".join(dumps(row_fields(row)) + "\n" for row in rows)
    table = is_table(fmt)
    body = _prepare(fmt[len(TABLE_KEY):] if table else fmt)
    template = _parse(body)
    out: list[str] = []
    if table:
        out.append(_render_header(body, headers))
        out.append("\n")
    from hull.template import TemplateError

    for row in rows:
        try:
            out.append(template.execute(row))
        except TemplateError as e:
            raise InvalidArgument(f"template parsing error: {e}")
        out.append("\n")
    text = "".join(out)
    return tabwrite(text) if table else text


def _prepare(body: str) -> str:
    """Docker's preFormat: trim spaces, turn typed ``\\t``/``\\n`` into tab/newline."""
    return body.strip(" ").replace("\\t", "\t").replace("\\n", "\n")


def _parse(body: str):  # type: ignore[no-untyped-def]
    from hull.template import TemplateError, parse_cached

    try:
        return parse_cached(body)
    except TemplateError as e:
        raise InvalidArgument(f"template parsing error: {e}")


# ---------------------------------------------------------------------------------------
# headers

class _HeaderText(str):
    """A column title; calling it (``{{.Label "x"}}``) or looking fields up on it
    (``{{.Config.Image}}``) still yields a title, so any row template renders a header.

    A title made up for a field the command did not name is false in conditions, the
    way Docker's missing header entry is: ``{{.Name}}{{if .Current}} *{{end}}`` titles
    the column ``NAME``, not ``NAME *``.
    """

    __slots__ = ("_headers", "_known")

    def __call__(self, *args: object) -> _HeaderText:
        return self

    def __bool__(self) -> bool:
        return self._known

    def __getattr__(self, name: str) -> _HeaderText:
        if name.startswith("_"):
            raise AttributeError(name)
        return _title(self._headers, name)


def _title(headers: dict[str, str], name: str) -> _HeaderText:
    known = name in headers
    text = _HeaderText(headers[name] if known else name.upper())
    text._headers = headers
    text._known = known
    return text


class _HeaderRow:
    """Dot for the header line: every field is its column title."""

    __slots__ = ("_headers",)

    def __init__(self, headers: dict[str, str]) -> None:
        self._headers = headers

    def __getattr__(self, name: str) -> _HeaderText:
        if name.startswith("_"):
            raise AttributeError(name)
        return _title(self._headers, name)


def _first_arg(value: object = "", *_rest: object) -> object:
    return value


# Docker's HeaderFunctions: these return the title untouched ("pad" and Go's builtins
# run as usual).
_HEADER_FUNCS = {name: _first_arg for name in (
    "json", "split", "join", "title", "lower", "upper", "truncate")}


def _render_header(body: str, headers: dict[str, str]) -> str:
    from hull.template import TemplateError, parse_cached

    row = _HeaderRow(headers)
    try:
        return parse_cached(body, _HEADER_FUNCS).execute(row)
    except TemplateError:
        # e.g. {{if eq .Size 0}}: comparing titles with numbers; title each cell instead
        cells = []
        for cell in body.split("\t"):
            fields = _FIELD_RE.findall(cell)
            cells.append(_title(headers, fields[-1]) if fields else "")
        return "\t".join(cells)


# ---------------------------------------------------------------------------------------
# rows as data

def row_fields(row: object) -> object:
    """A row as a JSON object with sorted keys, the way Docker marshals its list rows."""
    if isinstance(row, dict):
        return {k: row[k] for k in sorted(row)}
    hook = getattr(row, "__json__", None)
    if callable(hook):
        return hook()
    fields: dict[str, object] = {}
    for name in sorted(dir(row)):
        if name.startswith("_"):
            continue
        value = getattr(row, name)
        if not callable(value):
            fields[name] = value
    return fields


# ---------------------------------------------------------------------------------------
# Go's text/tabwriter

def tabwrite(text: str, minwidth: int = TAB_MINWIDTH, padding: int = TAB_PADDING,
             padchar: str = " ") -> str:
    """Align tab-separated cells into columns exactly like Go's text/tabwriter (flags 0).

    A cell is text terminated by a tab; the text after a line's last tab is not part of
    any column and is never padded.  A column is a run of consecutive lines that all
    have a terminated cell at that index; its width is the widest cell plus
    ``padding``, at least ``minwidth``.
    """
    lines = [line.split("\t") for line in text.replace("\v", "\t").split("\n")]
    out: list[str] = []
    _format(lines, [], 0, len(lines), out, minwidth, padding, padchar)
    return "".join(out)


def _format(lines: list[list[str]], widths: list[int], line0: int, line1: int,
            out: list[str], minwidth: int, padding: int, padchar: str) -> None:
    column = len(widths)
    this = line0
    while this < line1:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        # this line starts a block of lines that have a cell in this column
        _write_lines(lines, widths, line0, this, out, padchar)
        line0 = this
        width = minwidth
        while this < line1 and column < len(lines[this]) - 1:
            width = max(width, len(lines[this][column]) + padding)
            this += 1
        widths.append(width)
        _format(lines, widths, line0, this, out, minwidth, padding, padchar)
        widths.pop()
        line0 = this
    _write_lines(lines, widths, line0, line1, out, padchar)


def _write_lines(lines: list[list[str]], widths: list[int], line0: int, line1: int,
                 out: list[str], padchar: str) -> None:
    last = len(lines) - 1
    for i in range(line0, line1):
        cells = lines[i]
        for j, cell in enumerate(cells):
            out.append(cell)
            if j < len(widths):
                out.append(padchar * (widths[j] - len(cell)))
        if i != last:
            out.append("\n")
