"""Go's text/template for Python data: what ``--format`` flags accept.

Docker users paste Go templates (``{{.ID}}``, ``{{range .Mounts}}{{.Source}}{{end}}``,
``{{json .Config}}``, ``{{printf "%-10s" .Name}}``); this package parses them once and
executes them against dicts and objects with Go's semantics and error messages.

    render("{{.Name | upper}}", {"Name": "web"})   # -> "WEB"
    Template("{{.ID}}").execute(row)               # parse once, execute many
"""

from __future__ import annotations

from collections.abc import Callable

from hull.template.errors import TemplateError

__all__ = ["Template", "TemplateError", "render"]

_CACHE: dict[object, Template] = {}
_CACHE_LIMIT = 256


class Template:
    """A parsed template; ``execute`` renders it for one value of dot."""

    __slots__ = ("funcs", "name", "text", "tree")

    def __init__(self, text: str, funcs: dict[str, Callable[..., object]] | None = None,
                 name: str = "") -> None:
        from hull.template.funcs import make_funcs
        from hull.template.parse import parse

        self.text = text
        self.name = name
        self.funcs = make_funcs(funcs)
        self.tree = parse(text, self.funcs.keys(), name)

    def execute(self, data: object) -> str:
        """Render with dot (and ``$``) set to ``data``; raises TemplateError."""
        from hull.template.exec import execute

        out: list[str] = []
        execute(self.tree, self.funcs, data, out)
        return "".join(out)


def parse_cached(text: str, funcs: dict[str, Callable[..., object]] | None = None) -> Template:
    """A parsed Template for ``text``, reusing earlier parses of the same text."""
    key: object = text if not funcs else (text, tuple(sorted(funcs.items(), key=_first)))
    template = _CACHE.get(key)
    if template is None:
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        template = _CACHE[key] = Template(text, funcs)
    return template


def _first(item: tuple[str, object]) -> str:
    return item[0]


def render(template: str, data: object, funcs: dict[str, Callable[..., object]] | None = None,
           ) -> str:
    """Parse (cached) and execute ``template`` with dot = ``data``."""
    return parse_cached(template, funcs).execute(data)
