"""The README tells the truth about the commands and events (they are made from the code)."""

from __future__ import annotations

import ast
from pathlib import Path

from assistant.docs import generated_sections, with_sections
from assistant.events import EVENT_TYPES

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_command_table_and_event_list_are_the_code_s() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert with_sections(readme, generated_sections()) == readme, \
        "README.md is out of date: run .venv/bin/python -m assistant.docs"


def emitted_types() -> dict[str, str]:
    """Every event type the package emits by name: bus.emit("x", ...), report("x", ...), and the
    daemon's mute/unmute, emitted under the command's own name."""
    found: dict[str, str] = {}
    for path in (ROOT / "assistant").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("emit", "report", "_report") and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found[node.args[0].value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    found.update({"mute": "daemon", "unmute": "daemon"})
    return found


def test_every_event_type_emitted_is_documented() -> None:
    emitted = emitted_types()
    assert len(emitted) > 15  # the scan finds them
    undocumented = {name: where for name, where in emitted.items() if name not in EVENT_TYPES}
    assert not undocumented, undocumented
    assert not set(EVENT_TYPES) - set(emitted), "documented but never emitted"
