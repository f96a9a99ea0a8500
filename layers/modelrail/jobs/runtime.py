"""The worker function's runtime: its model as a ``Predictor``, its queue, and the SQS event handler.

The worker runs in the model function's own image (or package) with the same environment, plus the job bucket
and its queue's URL (``contract.jobs``). ``EndpointPredictor`` is the same ``Predictor`` for a GPU model: the
batch goes to its SageMaker endpoint's ``v1-predict`` operation instead of a local session.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from functools import cache
from typing import Any

from modelrail.contract import jobs as contract
from modelrail.jobs.state import JobBucket
from modelrail.jobs.worker import Predictor, Worker, job_message
from modelrail.logs import get_logger, request_id_var

log = get_logger("jobs.worker")


class ModelPredictor:
    """This process's model, exactly as the synchronous ``predict`` route runs it."""

    def __init__(self) -> None:
        from modelrail.loader import ModelLoader
        from modelrail.logs import configure_logging
        from modelrail.metrics import MetricsEmitter
        from modelrail.settings import get_settings

        settings = get_settings()
        configure_logging(level=settings.log_level, model=settings.model_name, version=settings.model_version)
        emitter = MetricsEmitter(namespace=settings.metrics_namespace, model=settings.model_name or "unknown")
        self.model = ModelLoader(settings, emitter).get()

    @property
    def batch_size(self) -> int:
        """The session's max batch size (the manifest's ``serving.max_batch_size``)."""
        return int(self.model.session.max_batch_size)

    def predict(self, instances: Sequence[Any]) -> list[Any]:
        """``operations.predict``, as ``POST /v1/models/<name>/predict`` calls it."""
        from modelrail.codecs import PredictRequest
        from modelrail.operations import predict

        return predict(self.model, PredictRequest(list(instances))).predictions

    def encode(self, prediction: Any) -> bytes:
        """The bytes the synchronous answer has for one prediction."""
        from modelrail.codecs.base import dump_json

        return dump_json(prediction)


class EndpointPredictor:
    """A GPU model's predictor: each batch is one ``InvokeEndpoint`` call with the ``v1-predict`` operation.

    A GPU model's worker is the CPU models' Lambda image with the worker's handler and
    ``contract.ENV_JOB_ENDPOINT_NAME`` set (``predictor_from_env``): the SageMaker container answers the same
    ``{"instances": [...]}`` body it answers for API Gateway, so result lines are what the synchronous route answers.
    """

    def __init__(self, endpoint: str, *, batch_size: int, client: Any = None) -> None:
        import boto3

        self.endpoint = endpoint
        self._batch_size = max(1, batch_size)
        self.client = client or boto3.client("sagemaker-runtime")

    @property
    def batch_size(self) -> int:
        """Instances per InvokeEndpoint call."""
        return self._batch_size

    def predict(self, instances: Sequence[Any]) -> list[Any]:
        """The endpoint's predictions for the instances, ``batch_size`` per ``InvokeEndpoint`` call (a worker's chunk
        is several batches); its 4xx/5xx error body becomes the same typed error."""
        predictions: list[Any] = []
        for start in range(0, len(instances), self._batch_size):
            predictions += self._invoke(instances[start : start + self._batch_size])
        return predictions

    def _invoke(self, instances: Sequence[Any]) -> list[Any]:
        from botocore.exceptions import ClientError

        from modelrail.routes import Operation, custom_attributes

        try:
            answer = self.client.invoke_endpoint(
                EndpointName=self.endpoint,
                ContentType="application/json",
                Accept="application/json",
                CustomAttributes=custom_attributes(Operation.V1_PREDICT),
                Body=json.dumps({"instances": list(instances)}).encode(),
            )
        except ClientError as exc:
            raise _endpoint_error(exc.response) from None
        predictions: list[Any] = json.loads(answer["Body"].read())["predictions"]
        return predictions

    def encode(self, prediction: Any) -> bytes:
        """Compact JSON."""
        return json.dumps(prediction, separators=(",", ":")).encode()


def _endpoint_error(response: Any) -> Exception:
    """A failed ``InvokeEndpoint`` as the typed error the GPU route would answer (``contract.sagemaker``'s table)."""
    from modelrail.contract.sagemaker import model_error, sagemaker_error
    from modelrail.contract.statuses import error_for_status

    error = response.get("Error", {})
    message = str(error.get("Message", ""))
    if error.get("Code") == "ModelError":
        status = response.get("OriginalStatusCode")
        answer = model_error(None if status is None else int(status), str(response.get("OriginalMessage", "")), message)
    else:
        answer = sagemaker_error(int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)), message)
    try:
        text = str(json.loads(answer.body).get("error", message))
    except (ValueError, AttributeError):
        text = message
    return error_for_status(answer.status)(text)


def send_continuation(job_id: str, delay_s: int) -> None:
    """Queue ``job_id`` again on this worker's own queue (``MODELRAIL_JOB_QUEUE_URL``)."""
    import boto3

    model = os.environ.get("MODELRAIL_MODEL_NAME", "")
    boto3.client("sqs").send_message(
        QueueUrl=os.environ[contract.ENV_JOB_QUEUE_URL],
        MessageBody=json.dumps(contract.job_message(job_id, model)),
        DelaySeconds=max(0, min(900, delay_s)),
    )


@cache
def worker_from_env() -> Worker:
    """This process's worker: the job bucket, the model (loaded on first use) and its queue."""
    import boto3

    from modelrail import constants

    bucket = os.environ[contract.ENV_JOB_BUCKET]
    predictor: list[Predictor] = []

    def load() -> Predictor:
        if not predictor:
            predictor.append(predictor_from_env())
        return predictor[0]

    return Worker(
        JobBucket(boto3.client("s3"), bucket),
        model=os.environ.get(constants.ENV_MODEL_NAME, ""),
        predictor=load,
        send_continuation=send_continuation,
    )


def predictor_from_env() -> Predictor:
    """The model's SageMaker endpoint when ``MODELRAIL_JOB_ENDPOINT_NAME`` names one (a GPU model's worker, at
    ``MODELRAIL_JOB_BATCH_SIZE`` instances per call), else the model loaded into this process (a CPU model's)."""
    endpoint = os.environ.get(contract.ENV_JOB_ENDPOINT_NAME, "").strip()
    if endpoint:
        batch_size = int(os.environ.get(contract.ENV_JOB_BATCH_SIZE) or 1)
        return EndpointPredictor(endpoint, batch_size=max(1, batch_size))
    return ModelPredictor()


def handle_sqs_event(event: Any, context: Any) -> dict[str, Any]:
    """The worker's Lambda handler: an SQS event in, ``{"batchItemFailures": [...]}`` out.

    A message whose job raised is reported as a batch item failure, so the event source leaves it on the queue
    (it comes back after the visibility timeout, and goes to the dead-letter queue after its last receive); the
    others are deleted ("Implementing partial batch responses", docs.aws.amazon.com/lambda/latest/operatorguide/
    sqs-retries.html). Lambda reads ``batchItemFailures`` only when the event source mapping has
    ``ReportBatchItemFailures``: the stack sets it, local mode's event source honours it.
    """
    token = request_id_var.set(getattr(context, "aws_request_id", None))
    try:
        worker = worker_from_env()
        failures = []
        remaining = getattr(context, "get_remaining_time_in_millis", None) or (lambda: contract.WORKER_TIMEOUT_S * 1000)
        for record in (event or {}).get("Records", []):
            try:
                message = job_message(record.get("body"))
                outcome = worker.run(message["job_id"], remaining)
            except Exception:
                log.exception(
                    "job message failed; it goes back to the queue", extra={"message_id": record.get("messageId")}
                )
                failures.append({"itemIdentifier": str(record.get("messageId"))})
                continue
            log.info("job message handled", extra={"job_id": message["job_id"], "outcome": outcome})
        return {"batchItemFailures": failures}
    finally:
        request_id_var.reset(token)
