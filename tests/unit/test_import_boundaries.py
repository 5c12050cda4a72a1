"""The seams of docs/architecture.md, checked on the source: who may import whom."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HULL = Path(__file__).resolve().parents[2] / "hull"


def imported_modules(package: str) -> dict[str, set[str]]:
    """Absolute imports of every module below ``hull/<package>`` (module -> names)."""
    found: dict[str, set[str]] = {}
    for path in sorted((HULL / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(HULL))] = names
    return found


def offenders(package: str, bad) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    return {module: sorted(n for n in names if bad(n))
            for module, names in imported_modules(package).items()
            if any(bad(n) for n in names)}


def test_runtime_knows_nothing_of_images_or_the_engine() -> None:
    allowed = ("hull.runtime", "hull.oci", "hull.errors", "hull.record")
    assert offenders("runtime", lambda n: n.startswith("hull") and not n.startswith(allowed)) == {}


@pytest.mark.parametrize("package", ["oci", "template"])
def test_pure_packages_do_no_io(package: str) -> None:
    io_modules = {"os", "io", "subprocess", "socket", "shutil", "tempfile", "sqlite3", "pathlib"}
    assert offenders(package, lambda n: n.split(".")[0] in io_modules) == {}
    engine = ("hull.engine", "hull.state", "hull.content", "hull.snapshot", "hull.runtime")
    assert offenders(package, lambda n: n.startswith(engine)) == {}


def test_cli_goes_through_the_engine() -> None:
    """Front ends call hull.engine; storage and runtime internals stay behind it.

    Flag parsers and column formatters of hull.network and hull.volume are shared with
    front ends on purpose. One exception: the click-free fast paths of ``hull exec`` and
    ``hull run`` start the kernel's cgroup migration wait themselves (and exec builds the
    runtime's Stdio), to save milliseconds.
    """
    internals = ("hull.state", "hull.image.store", "hull.snapshot", "hull.runtime",
                 "hull.content", "hull.archive")
    found = offenders("cli", lambda n: n.startswith(internals))
    found.pop("cli/commands/exec_core.py", None)
    found.pop("cli/commands/run_core.py", None)
    assert found == {}
