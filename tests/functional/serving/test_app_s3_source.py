"""The app fetching its model from moto's S3 server (as local mode's embedded S3), via AWS_ENDPOINT_URL_S3."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from modelrail.app import create_app
from modelrail.settings import Settings
from tests.support.serving_artifacts import manifest_sha256, tensor_artifact
from tests.support.serving_servers import moto_s3, serve

BUCKET = "modelrail-local"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto_s3() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield url


def upload(directory: Path) -> None:
    s3 = boto3.client("s3")
    for path in directory.iterdir():
        s3.put_object(Bucket=BUCKET, Key=f"models/tiny/1/{path.name}", Body=path.read_bytes())


def test_fetches_verifies_and_serves_then_recovers_from_a_bad_upload(endpoint: str, tmp_path: Path) -> None:
    del endpoint
    artifact = tensor_artifact(tmp_path / "artifact")
    upload(artifact)
    boto3.client("s3").put_object(Bucket=BUCKET, Key="models/tiny/1/model.onnx", Body=b"half an upload")
    settings = Settings(
        model_name="tiny",
        model_version="1",
        model_bucket=BUCKET,
        manifest_sha256=manifest_sha256(artifact),
        cache_dir=tmp_path / "cache",
    )
    app = create_app(settings, preload=False)
    with serve(app) as url:
        refused = httpx.post(f"{url}/v1/models/tiny/predict", json={"instances": [{"x": [1, 2, 3]}]})
        assert (refused.status_code, refused.json()["code"]) == (503, "model_unavailable")
        assert "s3://modelrail-local/models/tiny/1/model.onnx has sha256" in refused.json()["error"]
        upload(artifact)
        served = httpx.post(f"{url}/v1/models/tiny/predict", json={"instances": [{"x": [1, 2, 3]}]})
        assert served.status_code == 200
        assert served.json()["predictions"][0]["doubled"] == [2.0, 4.0, 6.0]
