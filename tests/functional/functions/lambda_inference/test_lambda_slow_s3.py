"""A slow or hung S3 behind the real Lambda handler in a local execution environment with a 3 s timeout.

S3 here is moto's server behind a proxy on loopback that answers late or stalls half-way through a file. The
fetch's deadline comes from the function's timeout, so every request gets a 503 with Retry-After well before
Lambda's timeout would turn it into API Gateway's 502, partial files are removed, and the function serves as
soon as S3 is healthy again.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from modelrail import constants as c
from modelrail.local.events import HttpRequest, build_proxy_event, parse_proxy_response
from modelrail.local.lambda_function import FunctionConfig, Invocation, LambdaFunction
from tests.support.serving_artifacts import manifest_sha256, tensor_artifact
from tests.support.serving_servers import ROOT, SlowS3Proxy, moto_s3

BUCKET = "slow-models"
TIMEOUT_S = 3.0
PATH = "/v1/models/tiny/predict"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, SlowS3Proxy]]:
    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto_s3() as url, SlowS3Proxy(url) as proxy:
        yield url, proxy


def start_function(artifact: Path, proxy: SlowS3Proxy, cache: Path) -> LambdaFunction:
    env = {
        c.ENV_MODEL_NAME: "tiny",
        c.ENV_MODEL_VERSION: "1",
        c.ENV_MODEL_BUCKET: BUCKET,
        c.ENV_MANIFEST_SHA256: manifest_sha256(artifact),
        c.ENV_CACHE_DIR: str(cache),
        c.ENV_FUNCTION_TIMEOUT_S: str(TIMEOUT_S),
        c.ENV_S3_ENDPOINT_URL: proxy.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    function = LambdaFunction(
        FunctionConfig(
            name="tiny",
            handler=str(ROOT / "functions/lambda_inference/handler.py:handler"),
            env=env,
            memory_mb=1024,
            timeout_s=TIMEOUT_S,
        )
    )
    function.start()
    function.wait_ready(60)
    return function


def predict(function: LambdaFunction) -> tuple[Invocation, Any]:
    request = HttpRequest(
        "POST", PATH, headers=[("Content-Type", "application/json")], body=b'{"instances": [{"x": [1, 2, 3]}]}'
    )
    event = build_proxy_event(request, resource=PATH)

    async def call() -> Invocation:
        async with httpx.AsyncClient() as client:
            return await function.invoke(event, client=client)

    invocation = asyncio.run(call())
    return invocation, None if invocation.function_error else parse_proxy_response(invocation.payload)


def parts(cache: Path) -> list[Path]:
    return list(cache.rglob("*.part"))


@pytest.mark.parametrize("mode", ["hung", "stalls-half-way"])
def test_a_slow_s3_is_a_503_with_retry_after_in_time_never_a_timeout(
    s3: tuple[str, SlowS3Proxy], tmp_path: Path, mode: str
) -> None:
    endpoint, proxy = s3
    artifact = tensor_artifact(tmp_path / "artifact")
    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=BUCKET)
    for path in artifact.iterdir():
        client.put_object(Bucket=BUCKET, Key=f"models/tiny/1/{path.name}", Body=path.read_bytes())
    proxy.hang_s = 12.0  # the S3, answering after 12 s, against a 3 s function
    if mode == "stalls-half-way":
        proxy.stall_paths = ("model.onnx",)
    cache = tmp_path / "tmp"
    function = start_function(artifact, proxy, cache)
    try:
        for _ in range(2):  # the first request waits for the init-time fetch, the second for its own
            invocation, answer = predict(function)
            assert not invocation.timed_out, "the function ran into its timeout: API Gateway would answer 502"
            assert invocation.function_error is None, invocation.payload
            assert answer.status == 503
            headers = {key.lower(): value for key, value in answer.headers}
            assert headers["retry-after"] == "5"
            body = json.loads(answer.body)
            assert body["code"] == "model_unavailable"
            assert not any(leak in answer.body.decode() for leak in (BUCKET, "127.0.0.1", str(cache), "s3://"))
        proxy.hang_s = 0.0  # S3 is healthy again: the function recovers on its own
        proxy.stall_paths = ()
        for _ in range(30):
            invocation, answer = predict(function)
            if answer is not None and answer.status == 200:
                break
            time.sleep(0.5)
        assert answer is not None
        assert answer.status == 200
        assert json.loads(answer.body)["predictions"][0]["doubled"] == [2.0, 4.0, 6.0]
        assert parts(cache) == []  # every partial download was removed
    finally:
        function.close()
