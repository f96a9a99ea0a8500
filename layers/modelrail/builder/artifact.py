"""Artifact directories: staged next to their final place, published by rename.

Whether one may be reused is ``modelrail.store.current.current_artifact``'s answer, the one synth, push and local
mode use too.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from modelrail.builder.hashing import file_entry
from modelrail.constants import MANIFEST_JSON
from modelrail.manifest import FileEntry

STAGING_PREFIX = ".staging-"
RETIRED_PREFIX = ".retired-"


def new_staging_dir(final: Path) -> Path:
    """An empty directory beside ``final`` (same filesystem, so publishing is a rename); dot-named, never served."""
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f"{STAGING_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    return staging


def remove_leftovers(final: Path) -> None:
    """Delete the staging and retired directories of ``final`` that an interrupted build left behind."""
    if not final.parent.is_dir():
        return
    prefixes = (f"{STAGING_PREFIX}{final.name}-", f"{RETIRED_PREFIX}{final.name}-")
    for path in final.parent.iterdir():
        if path.is_dir() and path.name.startswith(prefixes):
            shutil.rmtree(path, ignore_errors=True)


def publish(staging: Path, final: Path) -> None:
    """Move a complete ``staging`` directory to ``final``, replacing any previous one.

    Readers see the old directory, then (for the instant between two renames) none, then the new one:
    never a mix, never a partial one.
    """
    retired = None
    if final.exists():
        retired = final.parent / f"{RETIRED_PREFIX}{final.name}-{uuid.uuid4().hex[:8]}"
        final.rename(retired)
    staging.rename(final)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON with a trailing newline."""
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def describe_files(directory: Path) -> dict[str, FileEntry]:
    """sha256 and size of every file in ``directory`` except ``manifest.json``, keyed by relative path."""
    return {
        path.relative_to(directory).as_posix(): file_entry(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST_JSON
    }
