"""torch, onnx, scikit-learn and transformers are build-time only: serving code (and the CLI) never imports them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BUILD_ONLY = ("torch", "onnx", "sklearn", "transformers", "sentence_transformers", "onnxconverter_common")

PROBE = """
import importlib, json, pkgutil, sys
import modelrail
serving = sorted(
    info.name for info in pkgutil.walk_packages(modelrail.__path__, "modelrail.")
    if not info.name.startswith("modelrail.builder")
)
for name in serving + ["modelrail.builder", "modelrail.builder.cli"]:
    importlib.import_module(name)
from modelrail.cli import make_parser
make_parser()
heavy = sorted({name.split(".")[0] for name in sys.modules} & set(json.loads(sys.argv[1])))
print(json.dumps({"imported": serving, "heavy": heavy}))
"""


def test_serving_modules_and_cli_do_not_import_build_extras() -> None:
    repo = Path(__file__).resolve().parents[3]
    completed = subprocess.run(  # a fresh interpreter: this test process has long imported them all
        [sys.executable, "-c", PROBE, json.dumps(BUILD_ONLY)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert "modelrail.manifest" in result["imported"]
    assert result["heavy"] == []
