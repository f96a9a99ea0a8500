"""The build optimizes graphs with the same onnxruntime the Lambda function serves them with.

A pre-optimized graph is loaded without re-optimizing only by the onnxruntime version that optimized it
(``modelrail.graph_options``); with different pins every Lambda cold start would optimize the graph again.
"""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pin(requirements: str, package: str) -> str | None:
    match = re.search(rf"^{re.escape(package)}==(\S+)$", requirements, flags=re.MULTILINE)
    return match.group(1) if match else None


def test_build_extra_pins_the_lambda_functions_onnxruntime() -> None:
    function_pin = _pin((ROOT / "functions/lambda_inference/requirements.txt").read_text(), "onnxruntime")
    extras = tomllib.loads((ROOT / "layers/pyproject.toml").read_text())["project"]["optional-dependencies"]
    build_pins = [spec.removeprefix("onnxruntime==") for spec in extras["build"] if spec.startswith("onnxruntime==")]
    assert function_pin is not None, "functions/lambda_inference/requirements.txt must pin onnxruntime exactly"
    assert build_pins == [function_pin], f"build extra pins {build_pins}, the Lambda function {function_pin}"
