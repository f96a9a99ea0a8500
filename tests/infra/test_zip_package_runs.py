"""`deploy.packaging: zip` end to end without Docker: synth the real repository's models as zip functions with
no `docker` on the PATH, copy the synthesized code asset into a clean folder, and run it on Python 3.12 (the
managed runtime's) against the built models in moto's S3 server: every sample event gets the same answer as the
handler gives from the source tree. Slow: synth, plus pip the first time (cached under build/lambda-zip/)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from fake_repo import CDK_CONTEXT, REPO_ROOT, is_job_worker

from modelrail import constants as c
from modelrail.lambda_zip.interpreter import lambda_python
from modelrail.manifest import load_manifest
from tests.support.serving_servers import built_artifact, moto_s3

pytestmark = pytest.mark.slow

MODELS = ("minilm", "digits")
EVENTS = {
    "minilm": ("minilm-predict.rest-v1.json", "minilm-infer.rest-v1.json", "minilm-predict.http-api-v2.json"),
    "digits": ("digits-predict.rest-v1.json", "digits-infer.rest-v1.json", "digits-infer-binary.rest-v1.json"),
}
BUCKET = "zip-models"
INVOKE = """
import json, sys, types
import handler
context = types.SimpleNamespace(aws_request_id="req-1", function_name="f", memory_limit_in_mb=2048,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f", get_remaining_time_in_millis=lambda: 9000)
answers = [handler.handler(json.load(open(path)), context) for path in sys.argv[1:]]
print("RESULT " + json.dumps({"answers": answers, "handler": handler.__file__, "path": sys.path}))
"""


@pytest.fixture(scope="module")
def python312() -> Path:
    found = lambda_python()
    if found is None:
        message = "no python3.12 on this machine (PATH or ~/.pyenv/versions/3.12*): the managed runtime's Python"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m infra.app` as the CDK CLI runs it, with `packaging=zip` and only `node` on the PATH."""
    for name in MODELS:
        built_artifact(name)
    tmp = tmp_path_factory.mktemp("zip-synth")
    bin_dir = tmp / "bin"
    bin_dir.mkdir()
    node = shutil.which("node")
    assert node is not None, "jsii needs node"
    (bin_dir / "node").symlink_to(node)
    outdir = tmp / "cdk.out"
    context = {
        **CDK_CONTEXT,
        "packaging": "zip",
        "models": ",".join(MODELS),
        "aws:cdk:enable-asset-metadata": True,  # as the CLI sets it: SAM and this test find the asset by it
    }
    env = {
        **os.environ,
        "PATH": str(bin_dir),
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(outdir),
    }
    result = subprocess.run(
        [sys.executable, "-m", "infra.app"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert shutil.which("docker", path=env["PATH"]) is None
    return outdir


def model_functions(outdir: Path, *, workers: bool = False) -> dict[str, dict[str, Any]]:
    """Each model's Lambda function resource (or, with ``workers``, its job worker), by its `SamResourceId`."""
    found = {}
    for template in outdir.glob("*.template.json"):
        for resource in json.loads(template.read_text())["Resources"].values():
            if resource["Type"] != "AWS::Lambda::Function" or "SamResourceId" not in resource.get("Metadata", {}):
                continue
            if is_job_worker(resource) is workers:
                found[resource["Metadata"]["SamResourceId"]] = resource
    return found


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """moto's S3 server with the built minilm and digits artifacts uploaded under their prefixes."""
    with moto_s3() as url:
        client = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
        )
        client.create_bucket(Bucket=BUCKET)
        for name in MODELS:
            manifest = load_manifest(REPO_ROOT / c.MODELS_DIR / name / c.MANIFEST_YAML)
            for path in built_artifact(name).iterdir():
                client.upload_file(str(path), BUCKET, c.artifact_prefix(name, manifest.version) + path.name)
        yield url


def invoke(
    python: Path, code_dir: str, env: dict[str, str], events: tuple[str, ...], cwd: Path, *, isolated: bool = True
) -> dict[str, Any]:
    """Run ``events`` through ``handler`` in a fresh interpreter; ``isolated``: no site-packages at all."""
    script = cwd / "invoke.py"
    script.write_text(INVOKE, encoding="utf-8")
    flags = ["-S", "-s"] if isolated else []
    result = subprocess.run(
        [str(python), *flags, str(script), *(str(REPO_ROOT / "events" / event) for event in events)],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "PYTHONPATH": code_dir, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [line] = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    return dict(json.loads(line.removeprefix("RESULT ")))


def body(answer: dict[str, Any]) -> Any:
    """The JSON answer; for the binary tensor extension, its JSON header and its FP32 tensor data."""
    assert answer["statusCode"] == 200, answer["body"][:500]
    if not answer.get("isBase64Encoded"):
        return json.loads(answer["body"])
    raw = base64.b64decode(answer["body"])
    header_length = int(answer["headers"]["inference-header-content-length"])
    header = json.loads(raw[:header_length])
    assert {output["datatype"] for output in header["outputs"]} == {"FP32"}
    return {"header": header, "data": np.frombuffer(raw[header_length:], dtype="<f4").tolist()}


def assert_same_answer(got: Any, expected: Any) -> None:
    if isinstance(expected, dict):
        assert got.keys() == expected.keys()
        for key in expected:
            assert_same_answer(got[key], expected[key])
    elif isinstance(expected, list) and expected and all(isinstance(v, int | float) for v in np.ravel(expected)):
        np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), atol=1e-5)
    elif isinstance(expected, list):
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert_same_answer(g, e)
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, abs=1e-5)
    else:
        assert got == expected


def test_synth_makes_zip_functions_with_snapstart_and_sam_names(synthesized: Path) -> None:
    functions = model_functions(synthesized)
    assert set(functions) == set(MODELS)
    for function in functions.values():
        props = function["Properties"]
        assert (props["Runtime"], props["Handler"]) == ("python3.12", "handler.handler")
        assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        assert props["EphemeralStorage"]["Size"] <= 512
        assert "PackageType" not in props  # Zip, Lambda's default
    # One package for both models: the model comes from S3, not from the code.
    assert len({f["Metadata"]["aws:asset:path"] for f in functions.values()}) == 1
    # Their job workers run from that same package, with the worker's handler, which the package holds.
    workers = model_functions(synthesized, workers=True)
    assert set(workers) == {f"{model}-jobs" for model in MODELS}
    assert {w["Metadata"]["aws:asset:path"] for w in workers.values()} == {
        f["Metadata"]["aws:asset:path"] for f in functions.values()
    }
    [asset] = {w["Metadata"]["aws:asset:path"] for w in workers.values()}
    assert (synthesized / asset / "worker.py").is_file()


@pytest.mark.parametrize("model", MODELS)
def test_the_synthesized_asset_answers_the_sample_events_on_python_312(
    model: str, synthesized: Path, s3: str, python312: Path, tmp_path: Path
) -> None:
    function = model_functions(synthesized)[model]
    asset = synthesized / function["Metadata"]["aws:asset:path"]
    code_dir = tmp_path / "task"  # a clean folder, as Lambda unzips the package into /var/task
    shutil.copytree(asset, code_dir)
    env = {
        key: value if isinstance(value, str) else BUCKET  # the bucket's name is a reference in the template
        for key, value in function["Properties"]["Environment"]["Variables"].items()
    }
    lambda_env = {
        **env,
        "AWS_ENDPOINT_URL_S3": s3,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        c.ENV_LAMBDA_FUNCTION_NAME: f"modelrail-{model}",
        c.ENV_LAMBDA_FUNCTION_MEMORY_SIZE: str(function["Properties"]["MemorySize"]),
    }
    served = invoke(python312, str(code_dir), lambda_env, EVENTS[model], tmp_path)
    assert served["handler"].startswith(str(code_dir))
    assert not any("site-packages" in entry for entry in served["path"])

    # The same events through the handler from the source tree, on this interpreter, from the build folder.
    reference_env = {
        c.ENV_MODEL_NAME: model,
        "MODELRAIL_MODEL_DIR": str(built_artifact(model)),
        c.ENV_LAMBDA_FUNCTION_NAME: f"modelrail-{model}",
        c.ENV_LAMBDA_FUNCTION_MEMORY_SIZE: lambda_env[c.ENV_LAMBDA_FUNCTION_MEMORY_SIZE],
    }
    source = os.pathsep.join([str(REPO_ROOT / "functions" / "lambda_inference"), str(REPO_ROOT / "layers")])
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    expected = invoke(Path(sys.executable), source, reference_env, EVENTS[model], reference_dir, isolated=False)
    assert len(served["answers"]) == len(EVENTS[model])
    for got, want in zip(served["answers"], expected["answers"], strict=True):
        assert_same_answer(body(got), body(want))
