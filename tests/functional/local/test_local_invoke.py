"""``modelrail invoke`` as a user runs it: a subprocess from the repository root, an event file, JSON on stdout.

The bundled-model events need the built models (CI builds them before the tests); those tests are skipped,
saying so, when ``build/models`` lacks them.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from modelrail.local.artifacts import load_manifests, resolve_models
from modelrail.local.deployment import LocalDeployment
from modelrail.local.events import HttpRequest, build_proxy_event
from modelrail.local.invoke import invoke_event
from modelrail.local.routing import CATALOG
from tests.support.serving_artifacts import tensor_artifact

ROOT = Path(__file__).resolve().parents[3]
EVENTS = ROOT / "events"
TIMEOUT_S = 180
TINY_YAML = """name: tiny
version: "1"
task: tensor
source: model.onnx
quantization: none
deploy: {memory_mb: 256}
"""

pytestmark = pytest.mark.slow


def invoke(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelrail.cli", "invoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def response_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr[-3000:]
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def built(name: str) -> bool:
    return (ROOT / "build" / "models" / name / "1" / "manifest.json").is_file()


def test_invoke_runs_the_real_handler_on_a_model_loaded_from_the_embedded_s3(tmp_path: Path) -> None:
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    (tmp_path / "models" / "tiny" / "model.yaml").write_text(TINY_YAML, encoding="utf-8")
    tensor_artifact(tmp_path / "build" / "tiny" / "1")
    body = json.dumps({"instances": [{"x": [1.0, 2.0, 3.0]}]}).encode()
    request = HttpRequest("POST", "/v1/models/tiny/predict", headers=[("Content-Type", "application/json")], body=body)
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(build_proxy_event(request, resource="/v1/models/tiny/predict")), encoding="utf-8")
    result = invoke("tiny", "--event", str(event_file), "--models-dir", str(tmp_path / "models"), "--build-dir",
                    str(tmp_path / "build"))  # fmt: skip
    response = response_of(result)
    assert response["statusCode"] == 200
    answer = json.loads(response["body"])
    assert answer["model"] == "tiny"
    assert answer["predictions"][0]["doubled"] == [2.0, 4.0, 6.0]
    # the function's own log, on stderr: Lambda's REPORT line with the function's memory and its init
    assert "Memory Size: 256 MB" in result.stderr
    assert "Init Duration" in result.stderr
    assert "s3://modelrail-local-" in result.stderr  # loaded from the embedded bucket, not from the build dir


def test_invoke_catalog_lists_every_model_in_the_repository() -> None:
    response = response_of(invoke("catalog", "--event", str(EVENTS / "catalog-models.rest-v1.json")))
    assert response["statusCode"] == 200
    names = [model["name"] for model in json.loads(response["body"])["models"]]
    assert names == sorted(path.parent.name for path in (ROOT / "models").glob("*/model.yaml"))


def test_invoke_with_a_bad_event_file_says_what_is_wrong(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    result = invoke("catalog", "--event", str(broken))
    assert result.returncode == 1
    assert "is not JSON" in result.stderr
    missing = invoke("catalog", "--event", str(tmp_path / "absent.json"))
    assert missing.returncode == 1
    assert "cannot read event file" in missing.stderr


def test_invoke_an_unknown_model_lists_the_known_ones() -> None:
    result = invoke("nope", "--event", str(EVENTS / "catalog-models.rest-v1.json"))
    assert result.returncode == 1
    assert "no model nope" in result.stderr
    assert "minilm" in result.stderr


def model_of(event: dict[str, Any]) -> str:
    path = event.get("path") or event.get("rawPath") or ""
    return path.split("/")[3]


EVENT_FILES = sorted(EVENTS.glob("*.json"))
MODELS = sorted(
    {model_of(json.loads(path.read_text(encoding="utf-8"))) for path in EVENT_FILES if path.name[:8] != "catalog-"}
)


@pytest.mark.parametrize("model", MODELS)
def test_the_cli_answers_one_bundled_event_per_model(model: str) -> None:
    if not built(model):
        pytest.skip(f"{model} is not built (run `modelrail build {model}` first)")
    response = response_of(invoke(model, "--event", str(EVENTS / f"{model}-ready.rest-v1.json")))
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"name": model, "ready": True}


@pytest.mark.parametrize("function", [*MODELS, CATALOG])
def test_every_event_file_gets_a_200_from_its_function(function: str) -> None:
    """One deployment per function (the CLI's own code path), every event file of that function through it."""
    if function != CATALOG and not built(function):
        pytest.skip(f"{function} is not built (run `modelrail build {function}` first)")
    events = {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in EVENT_FILES
        if (path.name.startswith("catalog-") if function == CATALOG else path.name.startswith(f"{function}-"))
    }
    events = {name: event for name, event in events.items() if function == CATALOG or model_of(event) == function}
    assert events
    manifests = load_manifests([], models_dir=ROOT / "models")
    if function == CATALOG:
        deployment = LocalDeployment([], root=ROOT, catalog_manifests=manifests, output=io.StringIO())
    else:
        models = resolve_models([function], models_dir=ROOT / "models", build_dir=ROOT / "build" / "models", say=print)
        deployment = LocalDeployment(models, root=ROOT, output=io.StringIO())
    deployment.start(warm=False)
    try:
        for name, event in events.items():
            document, failed = invoke_event(deployment, function, event)
            assert not failed, (name, document)
            assert document["statusCode"] == 200, (name, document)
            if document["isBase64Encoded"]:  # the binary extension's answer: a JSON header, then tensor bytes
                headers = {key.lower(): value for key, value in document["headers"].items()}
                assert int(headers["inference-header-content-length"]) > 0, name
            else:
                json.loads(document["body"])
    finally:
        deployment.stop()
