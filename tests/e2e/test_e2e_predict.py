"""``modelrail predict`` against the running local mode, as a user runs it (a separate process): texts from a file
and inline, a PNG file, the API's JSON errors with a non-zero exit, and a stage whose URL and API key come from the
stack's outputs (moto's CloudFormation and API Gateway, the stage's URL pointing at local mode)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import pytest

from tests.e2e.conftest import ROOT, LocalStack

pytestmark = pytest.mark.e2e


def predict(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelrail.cli", "predict", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env or dict(os.environ),
        check=False,
    )


@pytest.fixture(scope="module")
def digit_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The handwritten 3 of the sample event, as a PNG file."""
    event = json.loads((ROOT / "events" / "digits-predict.rest-v1.json").read_text(encoding="utf-8"))
    path = tmp_path_factory.mktemp("images") / "digit3.png"
    path.write_bytes(base64.b64decode(json.loads(event["body"])["instances"][0]))
    return path


def test_texts_from_a_file_and_inline_answer_as_the_task_api_does(local_stack: LocalStack, tmp_path: Path) -> None:
    texts = ["The cat sat on the mat.", "A kitten rests on a rug."]
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    done = predict(
        "minilm",
        f"@{tmp_path / 'texts.txt'}",
        "hello world",
        "--url",
        local_stack.url,
        "--api-key",
        local_stack.api_key,
    )
    assert done.returncode == 0, done.stderr
    printed = [json.loads(line) for line in done.stdout.splitlines()]
    with local_stack.client() as client:
        direct = client.post("/v1/models/minilm/predict", json={"instances": [*texts, "hello world"]}).json()
    assert len(printed) == 3
    np.testing.assert_allclose(np.array(printed), np.array(direct["predictions"]), atol=1e-6)
    assert "minilm: 3 prediction(s), answered by version 1 (3)" in done.stderr


def test_a_png_file_is_classified(local_stack: LocalStack, digit_png: Path) -> None:
    done = predict("digits", f"@{digit_png}", "--url", local_stack.url, "--api-key", local_stack.api_key)
    assert done.returncode == 0, done.stderr
    (prediction,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert prediction["label"] == "3"


def test_small_batches_keep_the_order(local_stack: LocalStack, tmp_path: Path) -> None:
    texts = [f"sentence number {i}" for i in range(5)]
    (tmp_path / "texts.txt").write_text("\n".join(texts), encoding="utf-8")
    whole = predict("minilm", f"@{tmp_path / 'texts.txt'}", "--url", local_stack.url, "--api-key", local_stack.api_key)
    batched = predict(
        "minilm", f"@{tmp_path / 'texts.txt'}", "--batch-size", "2", "--url", local_stack.url,
        "--api-key", local_stack.api_key,
    )  # fmt: skip
    assert whole.returncode == batched.returncode == 0
    np.testing.assert_allclose(
        np.array([json.loads(line) for line in batched.stdout.splitlines()]),
        np.array([json.loads(line) for line in whole.stdout.splitlines()]),
        atol=1e-6,
    )


def test_the_apis_json_error_is_printed_and_the_exit_status_is_non_zero(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not a picture", encoding="utf-8")
    done = predict("digits", f"@{not_an_image}", "--url", local_stack.url, "--api-key", local_stack.api_key)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "HTTP 422 unprocessable_input: instance 0: not a readable PNG or JPEG image (request id " in done.stderr


def test_a_missing_key_and_an_unknown_model_fail_clearly(local_stack: LocalStack) -> None:
    env = {
        key: value for key, value in os.environ.items() if key not in {"MODELRAIL_API_KEY", "MODELRAIL_LOCAL_API_KEY"}
    }
    no_key = predict("minilm", "hello", "--url", local_stack.url, env=env)
    assert no_key.returncode == 1
    assert "HTTP 403" in no_key.stderr
    unknown = predict("nope", "hello", "--url", local_stack.url, "--api-key", local_stack.api_key)
    assert unknown.returncode == 1
    assert "no model `nope` here" in unknown.stderr


@pytest.fixture
def stage_pointing_at_local_mode(local_stack: LocalStack, tmp_path: Path) -> Iterator[dict[str, str]]:
    """moto's server holding stack modelrail-e2e whose ApiUrl is local mode and whose API key is local mode's."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    env.pop("AWS_PROFILE", None)
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    key = session.client("apigateway", endpoint_url=env["AWS_ENDPOINT_URL"]).create_api_key(
        name="modelrail-e2e", enabled=True
    )
    # API Gateway (and moto) refuse key values under 20 characters; local mode's e2e key is shorter, so the
    # stored key is given local mode's value in moto's own backend (the server runs in this process).
    from moto.apigateway.models import apigateway_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    apigateway_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].keys[key["id"]].value = local_stack.api_key
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApiUrl": {"Value": local_stack.url + "/"}, "ApiKeyId": {"Value": key["id"]}},
    }
    session.client("cloudformation", endpoint_url=env["AWS_ENDPOINT_URL"]).create_stack(
        StackName="modelrail-e2e", TemplateBody=json.dumps(template)
    )
    try:
        yield env
    finally:
        server.stop()


def test_a_stage_is_called_with_the_url_and_key_from_its_stack_outputs(
    stage_pointing_at_local_mode: dict[str, str],
) -> None:
    done = predict("minilm", "hello world", "--stage", "e2e", env=stage_pointing_at_local_mode)
    assert done.returncode == 0, done.stderr
    (embedding,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(embedding) == 384


def test_a_file_runs_as_a_job_with_job(local_stack: LocalStack, tmp_path: Path) -> None:
    texts = [f"job sentence {i}" for i in range(12)]
    source = tmp_path / "texts.jsonl"
    source.write_text("".join(json.dumps(text) + "\n" for text in texts), encoding="utf-8")
    done = predict("minilm", "--job", str(source), "--url", local_stack.url, "--api-key", local_stack.api_key)
    assert done.returncode == 0, done.stderr
    assert "12 result lines (0 errors) saved to" in done.stderr
    saved = [json.loads(line)["prediction"] for line in (tmp_path / "texts.results.jsonl").read_text().splitlines()]
    with local_stack.client() as client:
        direct = client.post("/v1/models/minilm/predict", json={"instances": texts}).json()["predictions"]
    np.testing.assert_allclose(np.array(saved), np.array(direct), atol=1e-6)


def test_instances_and_job_together_are_refused(tmp_path: Path) -> None:
    done = predict("minilm", "hello", "--job", str(tmp_path / "x.jsonl"))
    assert done.returncode == 1
    assert "give INSTANCEs, or --job FILE.jsonl (not both)" in done.stderr
