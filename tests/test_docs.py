"""The documents say what the code does: DESIGN.md's levels table is the one the presets give."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _levels_table_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("levels_table", ROOT / "scripts" / "levels_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_design_levels_table_is_generated_from_the_presets() -> None:
    script = _levels_table_script()
    design = (ROOT / "docs" / "DESIGN.md").read_text(encoding="utf-8")
    assert design.count(script.BEGIN) == 1 and design.count(script.END) == 1, "DESIGN.md lost its table markers"
    shown = design.split(script.BEGIN, 1)[1].split(script.END, 1)[0].strip("\n")
    assert shown == script.table().strip("\n"), (
        "docs/DESIGN.md's levels table differs from lstmzip/data/levels/*.json: python scripts/levels_table.py --write"
    )


def test_documents_hold_no_tracker_status() -> None:
    for name in ("README.md", "docs/DESIGN.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert not re.search(r"\bissue \d+", text, re.IGNORECASE), f"{name} names a tracker issue"
