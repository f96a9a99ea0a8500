"""A GPU model's worker predictor: each batch is one InvokeEndpoint with the v1-predict operation, and the
container's 4xx comes back as the same typed error (so the worker fails only the refused lines)."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from modelrail.contract import jobs as contract
from modelrail.contract.jobs import JobStatus
from modelrail.errors import InvalidInputError
from modelrail.jobs import runtime as runtime_module
from modelrail.jobs.runtime import EndpointPredictor
from modelrail.jobs.state import JobBucket
from tests.unit.jobs.conftest import BUCKET, MODEL
from tests.unit.jobs.test_jobs_worker import JOB, make_job, results


@pytest.fixture
def runtime() -> Any:
    return boto3.client("sagemaker-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_a_batch_is_one_invoke_endpoint_with_the_v1_predict_operation(runtime: Any) -> None:
    body = json.dumps({"model": "m", "version": "1", "predictions": [[1.0], [2.0]]}).encode()
    with Stubber(runtime) as stub:
        stub.add_response(
            "invoke_endpoint",
            {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json"},
            {
                "EndpointName": "ep",
                "ContentType": "application/json",
                "Accept": "application/json",
                "CustomAttributes": "route=v1-predict",
                "Body": json.dumps({"instances": ["a", "b"]}).encode(),
            },
        )
        predictor = EndpointPredictor("ep", batch_size=8, client=runtime)
        assert predictor.predict(["a", "b"]) == [[1.0], [2.0]]
    assert predictor.encode([1.0]) == b"[1.0]"


def test_the_containers_4xx_is_the_same_typed_error(runtime: Any) -> None:
    """A 424 ModelError carries the container's own status and body (``contract.sagemaker``)."""
    with Stubber(runtime) as stub:
        stub.add_client_error(
            "invoke_endpoint",
            service_error_code="ModelError",
            service_message="Received client error (400) from primary",
            http_status_code=424,
            modeled_fields={
                "OriginalStatusCode": 400,
                "OriginalMessage": json.dumps({"error": "instance 0: expected a string", "code": "invalid_input"}),
            },
        )
        with pytest.raises(InvalidInputError, match="expected a string"):
            EndpointPredictor("ep", batch_size=8, client=runtime).predict([1])


def answer(predictions: list[Any]) -> dict[str, Any]:
    body = json.dumps({"model": MODEL, "version": "1", "predictions": predictions}).encode()
    return {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "application/json"}


def invoked(instances: list[Any]) -> dict[str, Any]:
    return {
        "EndpointName": "tiny-gpu-ep",
        "ContentType": "application/json",
        "Accept": "application/json",
        "CustomAttributes": "route=v1-predict",
        "Body": json.dumps({"instances": instances}).encode(),
    }


@pytest.fixture
def gpu_worker_env(monkeypatch: pytest.MonkeyPatch, runtime: Any) -> Any:
    """A GPU model's worker environment (what the stack sets), the sagemaker-runtime client stubbed, and the local
    model made unloadable: a worker that tried the ONNX session would fail."""
    monkeypatch.setenv(contract.ENV_JOB_BUCKET, BUCKET)
    monkeypatch.setenv("MODELRAIL_MODEL_NAME", MODEL)
    monkeypatch.setenv(contract.ENV_JOB_ENDPOINT_NAME, "tiny-gpu-ep")
    monkeypatch.setenv(contract.ENV_JOB_BATCH_SIZE, "2")
    real_client = boto3.client

    def client(service: str, *args: Any, **kwargs: Any) -> Any:
        return runtime if service == "sagemaker-runtime" else real_client(service, *args, **kwargs)

    def no_local_model() -> None:
        raise AssertionError("a GPU model's worker loaded the model locally")

    monkeypatch.setattr(boto3, "client", client)
    monkeypatch.setattr(runtime_module, "ModelPredictor", no_local_model)
    runtime_module.worker_from_env.cache_clear()
    yield runtime
    runtime_module.worker_from_env.cache_clear()


def test_a_worker_whose_env_names_an_endpoint_sends_its_batches_there(bucket: JobBucket, gpu_worker_env: Any) -> None:
    """``MODELRAIL_JOB_ENDPOINT_NAME`` set: the handler runs the job through InvokeEndpoint at the env's batch size,
    and each result line is exactly what the endpoint answered for that line."""
    make_job(bucket, b'"a"\n"bb"\n"ccc"\n')
    with Stubber(gpu_worker_env) as stub:
        stub.add_response("invoke_endpoint", answer([[0.25, 1.0], [2.0, -3.5]]), invoked(["a", "bb"]))
        stub.add_response("invoke_endpoint", answer([[4.0, 0.125]]), invoked(["ccc"]))
        event = {"Records": [{"messageId": "m1", "body": json.dumps({"job_id": JOB, "model": MODEL})}]}
        assert runtime_module.handle_sqs_event(event, None) == {"batchItemFailures": []}
        stub.assert_no_pending_responses()
    state = bucket.load(JOB)
    assert state is not None
    assert (state.status, state.done, state.total) == (JobStatus.SUCCEEDED, 3, 3)
    assert results(bucket) == [{"prediction": [0.25, 1.0]}, {"prediction": [2.0, -3.5]}, {"prediction": [4.0, 0.125]}]


def test_without_an_endpoint_the_worker_runs_the_model_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(contract.ENV_JOB_ENDPOINT_NAME, raising=False)
    local = object()
    monkeypatch.setattr(runtime_module, "ModelPredictor", lambda: local)
    assert runtime_module.predictor_from_env() is local
