"""``tune --apply``: write the recommended ``memory_mb`` into a model.yaml's ``deploy:`` block, keeping the rest.

A text edit, not a YAML round trip, so comments and layout survive; the result is validated with the manifest
schema before it replaces the file, and a file that would not validate is left as it was.
"""

from __future__ import annotations

import re
from pathlib import Path

from modelrail.manifest import ManifestError, load_manifest

_TOP_LEVEL_DEPLOY = re.compile(r"^deploy:\s*(#.*)?$")
_MEMORY = re.compile(r"^(?P<indent>\s+)memory_mb:\s*[^#\n]*(?P<comment>#.*)?$")


def set_deploy_memory(path: Path, memory_mb: int) -> str:
    """Set ``deploy.memory_mb`` in ``path``; returns the new text (already written)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if _TOP_LEVEL_DEPLOY.match(line)), None)
    if start is None:
        new = [*lines, "deploy:", f"  memory_mb: {memory_mb}  # set by modelrail tune"]
    else:
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or lines[end].startswith((" ", "\t", "#"))):
            end += 1
        block = lines[start + 1 : end]
        indents = [line[: len(line) - len(line.lstrip())] for line in block if line.strip() and line[0] in " \t"]
        indent = min((i for i in indents if i), key=len, default="  ")
        found = next(
            (
                i
                for i, line in enumerate(block)
                if _MEMORY.match(line) and line.startswith(indent) and not line.startswith(indent + " ")
            ),
            None,
        )
        entry = f"{indent}memory_mb: {memory_mb}  # set by modelrail tune"
        if found is None:
            block.insert(0, entry)
        else:
            block[found] = entry
        new = [*lines[: start + 1], *block, *lines[end:]]
    text = "\n".join(new) + "\n"
    original = path.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    try:
        load_manifest(path)
    except ManifestError:
        path.write_text(original, encoding="utf-8")
        raise
    return text
