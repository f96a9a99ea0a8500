"""What a zip package drops: files no import at serve time reads, which only cost unzipped bytes and upload.

Each rule is a kind of file, not a package: nothing a module imports is removed, so the rules hold as the pins
change. ``tests/infra/test_zip_package_runs.py`` runs the trimmed package on the managed runtime's Python.
"""

from __future__ import annotations

import shutil
from pathlib import Path

DROPPED_DIRS = frozenset({"__pycache__", "tests"})
"""Byte-code caches of the build machine's Python (another version: never valid on 3.12) and packages' own test
suites (numpy's alone is about 8 MB), which nothing imports."""
DROPPED_SUFFIXES = frozenset({".pyc", ".pyo", ".pyi", ".h", ".hpp", ".pxd", ".pyx", ".c", ".cpp"})
"""Byte code (see ``DROPPED_DIRS``), type stubs for type checkers, and C/C++/Cython sources and headers for
compiling extensions against a package: none is read by an import."""
DROPPED_TOP_LEVEL = frozenset({"bin"})
"""pip's console scripts: their ``#!`` lines name the build machine's interpreter, and Lambda runs a handler,
never a script."""
RECORD = "RECORD"
"""pip's list of installed files with their hashes, used only to uninstall; wrong once files are trimmed. The
rest of ``*.dist-info`` stays: ``importlib.metadata`` reads ``METADATA`` and ``entry_points.txt`` at run time
(opentelemetry-api finds its context implementation through an entry point)."""


def trim(directory: Path) -> int:
    """Remove what serving never reads from an installed package folder; returns the bytes removed."""
    removed = 0
    for name in DROPPED_TOP_LEVEL:
        removed += _remove(directory / name)
    # Deepest first, so a removed folder's contents are not visited again.
    for path in sorted(directory.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_symlink() or not path.exists():
            continue
        if path.is_dir():
            nested = path.parent != directory  # a top-level `tests` would be someone's real package
            if path.name in DROPPED_DIRS and (nested or path.name == "__pycache__"):
                removed += _remove(path)
        elif path.suffix in DROPPED_SUFFIXES or (path.name == RECORD and path.parent.name.endswith(".dist-info")):
            removed += _remove(path)
    return removed


def _remove(path: Path) -> int:
    if not path.exists():
        return 0
    if path.is_dir():
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
        shutil.rmtree(path)
        return size
    size = path.stat().st_size
    path.unlink()
    return size
