"""Access to the engine from a click command."""

from __future__ import annotations

import click

TYPE_CHECKING = False  # typing itself costs milliseconds to import

if TYPE_CHECKING:
    from hull.engine import Engine


def engine_of(ctx: click.Context) -> Engine:
    """The engine for this invocation, created once and closed when the CLI exits."""
    root = ctx.find_root()
    engine = root.meta.get("hull.engine")
    if engine is None:
        from hull.engine import Engine

        engine = Engine(root.obj)
        root.meta["hull.engine"] = engine
        root.call_on_close(engine.close)
    return engine
