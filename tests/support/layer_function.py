"""A zip function on Lambda's plain Python runtime, as the stack deploys the catalog and jobs API functions: the
``modelrail`` package as a layer installed without dependencies, the function's own directory as its code. Run
with no site-packages at all (``python -I -S``), so anything beyond the stdlib it imports shows."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUNNER = """
import json, sys
layer, code = sys.argv[1], sys.argv[2]
sys.path[:0] = [layer, code]
import handler
answers = [handler.handler(event, None) for event in json.load(sys.stdin)]
ours = {"modelrail", "handler", "__main__"}
third_party = sorted({name.split(".")[0] for name in sys.modules} - set(sys.stdlib_module_names) - ours)
print(json.dumps({"answers": answers, "third_party": third_party}))
"""


def copy_layer(target: Path) -> Path:
    """``python/modelrail`` as the layer build copies it, under ``target``; returns the ``python`` directory."""
    python = target / "python"
    shutil.copytree(ROOT / "layers" / "modelrail", python / "modelrail", ignore=shutil.ignore_patterns("__pycache__"))
    return python


def run_isolated(layer: Path, function: str, events: list[dict[str, Any]], env: Mapping[str, str]) -> dict[str, Any]:
    """Each event through ``functions/<function>/handler.py`` in one isolated interpreter: the answers, in order,
    and every third-party top-level module it imported."""
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", RUNNER, str(layer), str(ROOT / "functions" / function)],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome
