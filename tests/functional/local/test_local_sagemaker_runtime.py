"""Local InvokeEndpoint, called as a GPU model's job worker calls it: boto3's SageMaker Runtime client (pointed here by
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``) over real loopback HTTP, to stand-in containers in their own processes.

What boto3 parses is what it parses from SageMaker: the body, the invoked variant and the container's custom
attributes; ``ModelError`` with the container's status and body; ``ValidationError`` for an unknown endpoint or
variant; 413 past 6 MB. ``EndpointPredictor`` (the worker's) turns a refused batch into the same typed error."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from modelrail.errors import InvalidInputError
from modelrail.jobs.runtime import EndpointPredictor
from modelrail.local.sagemaker_endpoint import EndpointConfig, SageMakerEndpoint
from modelrail.local.sagemaker_runtime import ENV_SAGEMAKER_RUNTIME_ENDPOINT_URL, LocalEndpoint, LocalSageMakerRuntime

ENDPOINT = "tiny-gpu"


@pytest.fixture(scope="module")
def containers(standin_container: str) -> Iterator[dict[str, SageMakerEndpoint]]:
    started = {
        variant: SageMakerEndpoint(EndpointConfig(name=variant, app=standin_container, env={"STANDIN_VERSION": v}))
        for variant, v in (("v-1", "1"), ("v-2", "2"))
    }
    for container in started.values():
        container.start()
    for container in started.values():
        container.wait_in_service(60)
    yield started
    for container in started.values():
        container.close()


@pytest.fixture(scope="module")
def runtime(containers: dict[str, SageMakerEndpoint]) -> Iterator[Any]:
    endpoints = {
        ENDPOINT: LocalEndpoint(containers, {"v-1": 100, "v-2": 0}, random.Random(1)),
        "split": LocalEndpoint(containers, {"v-1": 50, "v-2": 50}, random.Random(2)),
    }
    server = LocalSageMakerRuntime(endpoints)
    server.start()
    try:
        yield boto3.client(
            "sagemaker-runtime",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
    finally:
        server.stop()


def predict_body(*instances: Any) -> bytes:
    return json.dumps({"instances": list(instances)}).encode()


def invoke(runtime: Any, body: bytes, *, endpoint: str = ENDPOINT, **extra: str) -> Any:
    return runtime.invoke_endpoint(
        EndpointName=endpoint,
        Body=body,
        ContentType="application/json",
        Accept="application/json",
        CustomAttributes="route=v1-predict",
        **extra,
    )


def test_boto3_finds_the_server_through_its_own_variable() -> None:
    assert ENV_SAGEMAKER_RUNTIME_ENDPOINT_URL == "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"
    server = LocalSageMakerRuntime({})
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in server.env().items():
                patch.setenv(name, value)
            assert boto3.client("sagemaker-runtime", region_name="us-east-1").meta.endpoint_url == server.endpoint_url
    finally:
        server.stop()


def test_invoke_endpoint_answers_with_the_containers_body_variant_and_attributes(runtime: Any) -> None:
    answer = invoke(runtime, predict_body("abc", "de"))
    predictions = json.loads(answer["Body"].read())["predictions"]
    assert [length for length, _ in predictions] == [3, 2]
    assert answer["ContentType"] == "application/json"
    assert answer["InvokedProductionVariant"] == "v-1"  # the only variant with weight
    assert answer["CustomAttributes"] == "1"


def test_target_variant_reaches_exactly_that_variant_even_at_weight_0(runtime: Any, containers: Any) -> None:
    answer = invoke(runtime, predict_body("x"), TargetVariant="v-2")
    assert answer["InvokedProductionVariant"] == "v-2"
    assert json.loads(answer["Body"].read())["predictions"][0][1] == containers["v-2"].pid


def test_without_target_variant_requests_are_split_by_weight(runtime: Any) -> None:
    variants = Counter(
        invoke(runtime, predict_body("x"), endpoint="split")["InvokedProductionVariant"] for _ in range(40)
    )
    assert set(variants) == {"v-1", "v-2"}


def test_a_container_error_is_a_model_error_with_its_status_and_body(runtime: Any) -> None:
    with pytest.raises(ClientError) as raised:
        invoke(runtime, predict_body("fine", 7))
    error = raised.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 400
    assert json.loads(error["OriginalMessage"])["code"] == "invalid_input"
    assert error["Error"]["Message"].startswith("Received client error (400) from v-1 with message ")


def test_the_workers_predictor_turns_a_refused_batch_into_the_typed_error(runtime: Any) -> None:
    predictor = EndpointPredictor(ENDPOINT, batch_size=2, client=runtime)
    assert [length for length, _ in predictor.predict(["a", "bb", "ccc"])] == [1, 2, 3]  # two InvokeEndpoint calls
    with pytest.raises(InvalidInputError, match="instance 1: expected a string"):
        predictor.predict(["a", None])


@pytest.mark.parametrize(
    ("endpoint", "extra", "message"),
    [
        ("nope", {}, "Endpoint nope of account 123456789012 not found."),
        (ENDPOINT, {"TargetVariant": "v-9"}, "TargetVariant does not exist"),
    ],
)
def test_unknown_endpoint_or_variant_is_a_validation_error(
    runtime: Any, endpoint: str, extra: dict[str, str], message: str
) -> None:
    with pytest.raises(ClientError) as raised:
        invoke(runtime, predict_body("x"), endpoint=endpoint, **extra)
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert message in raised.value.response["Error"]["Message"]


def test_a_body_over_6_mb_is_413_before_any_container_sees_it(runtime: Any) -> None:
    with pytest.raises(ClientError) as raised:
        invoke(runtime, predict_body("x" * (6 * 1024 * 1024)))
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert "HTTP content length exceeded" in raised.value.response["Error"]["Message"]


def test_a_container_that_dies_mid_request_is_a_model_error_with_status_0_and_the_next_call_works(
    runtime: Any,
) -> None:
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName=ENDPOINT, Body=b"{}", CustomAttributes="route=x;version=exit")
    assert raised.value.response["Error"]["Code"] == "ModelError"
    assert raised.value.response["OriginalStatusCode"] == 0
    assert invoke(runtime, predict_body("again"))["InvokedProductionVariant"] == "v-1"


@pytest.mark.parametrize("raw_name", ["tiny%252Dgpu", "tiny-gpu%2Fx", "%00", "a" * 64])
def test_a_name_that_is_not_an_endpoint_name_as_sent_is_refused_and_never_echoed(runtime: Any, raw_name: str) -> None:
    """The path is decoded once, as sent: ``%252D`` is not read as ``-``, and the name is not echoed."""
    answer = httpx.post(f"{runtime.meta.endpoint_url}/endpoints/{raw_name}/invocations", content=b"{}", timeout=10)
    assert answer.status_code in {400, 404}
    assert raw_name not in answer.text
    assert answer.headers.get("x-amzn-ErrorType") in {"ValidationError", "UnknownOperationException"}
