"""Golden files: each ``golden/dockerfile/<case>.Dockerfile`` parses to ``<case>.json``.

The JSON holds the parser directives, warnings and every typed instruction with its
line range and the ``docker history`` line both builders would write for it (with a
default shell and workdir).  Regenerate after an intended change with
``HULL_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_dockerfile_golden.py``
and review the diff by hand: the goldens are the specification.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from hull.build.instructions import HistoryContext, build_instructions
from hull.build.parser import parse

GOLDEN = Path(__file__).parent / "golden" / "dockerfile"
CASES = sorted(p.name.removesuffix(".Dockerfile") for p in GOLDEN.glob("*.Dockerfile"))
UPDATE = os.environ.get("HULL_UPDATE_GOLDEN") == "1"
# The classic builder names COPY/ADD sources by content hash; goldens use a fixed one.
CONTEXT = HistoryContext(source_hash="file:4a5b6c")


def render(data: bytes) -> dict[str, Any]:
    result = parse(data)
    instructions = []
    for instruction in build_instructions(result):
        entry = instruction.to_dict()
        entry["history"] = {"buildkit": instruction.history_text("buildkit", CONTEXT),
                            "classic": instruction.history_text("classic", CONTEXT)}
        instructions.append(entry)
    return {
        "escape": result.escape_token,
        "directives": result.directives,
        "warnings": [{"line": w.line, "message": w.message} for w in result.warnings],
        "instructions": instructions,
    }


def test_every_golden_case_has_expectations() -> None:
    assert len(CASES) >= 10
    missing = [c for c in CASES if not (GOLDEN / f"{c}.json").exists()]
    assert UPDATE or not missing, f"no golden JSON for {missing}; run with HULL_UPDATE_GOLDEN=1"


@pytest.mark.parametrize("case", CASES)
def test_golden(case: str) -> None:
    actual = render((GOLDEN / f"{case}.Dockerfile").read_bytes())
    expected_path = GOLDEN / f"{case}.json"
    text = json.dumps(actual, indent=2, ensure_ascii=False) + "\n"
    if UPDATE:
        expected_path.write_text(text, encoding="utf-8")
        return
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert actual == expected
