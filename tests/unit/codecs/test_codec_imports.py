"""The codec modules import each other without a cycle (function-level imports count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import modelrail.codecs

PACKAGE = "modelrail.codecs"


def imports_of(path: Path) -> set[str]:
    """The ``modelrail.codecs`` modules one file imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(f"{PACKAGE}."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith(f"{PACKAGE}.")}
    return found


def test_codec_modules_form_no_import_cycle() -> None:
    folder = Path(modelrail.codecs.__file__).parent
    graph = {f"{PACKAGE}.{path.stem}": imports_of(path) for path in folder.glob("*.py") if path.stem != "__init__"}

    def visit(module: str, trail: tuple[str, ...]) -> None:
        assert module not in trail, f"import cycle: {' -> '.join((*trail, module))}"
        for imported in graph.get(module, ()):
            visit(imported, (*trail, module))

    for module in graph:
        visit(module, ())
