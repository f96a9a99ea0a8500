"""The jobs API function's handler: environment in, one ``JobsApi`` per process, never raises."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from functools import cache
from typing import Any

from modelrail import constants
from modelrail.contract import jobs as contract
from modelrail.errors import InternalError, ModelrailError
from modelrail.jobs.api import JobsApi
from modelrail.jobs.state import JobBucket
from modelrail.logs import configure_logging, get_logger, request_id_var
from modelrail.proxy_responses import error_response

log = get_logger("jobs")


class JobsConfigError(InternalError):
    """The function's environment is missing or malformed: a deployment bug, reported as 500 naming it."""


def read_queues(environ: Mapping[str, str]) -> dict[str, str]:
    """``MODELRAIL_JOB_QUEUES``: model name -> queue URL, or queue name after ``MODELRAIL_JOB_QUEUE_URL_PREFIX``."""
    text = environ.get(contract.ENV_JOB_QUEUES)
    problem = f"env {contract.ENV_JOB_QUEUES} must be a JSON object of model name -> queue URL"
    try:
        queues = json.loads(text or "")
    except json.JSONDecodeError:
        raise JobsConfigError(problem) from None
    if not isinstance(queues, dict) or not all(isinstance(v, str) for v in queues.values()):
        raise JobsConfigError(problem)
    prefix = environ.get(contract.ENV_JOB_QUEUE_URL_PREFIX, "")
    return {model: queue if "://" in queue else prefix + queue for model, queue in queues.items()}


def s3_client() -> Any:
    """An S3 client whose presigned URLs use Signature Version 4 (what KMS-encrypted buckets require)."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(signature_version="s3v4"))


@cache
def api_from_env() -> JobsApi:
    """The process's API, configured once from its environment."""
    configure_logging(level=os.environ.get(constants.ENV_LOG_LEVEL, "INFO").upper(), model="jobs", version=None)
    bucket = os.environ.get(contract.ENV_JOB_BUCKET)
    if not bucket:
        raise JobsConfigError(f"env {contract.ENV_JOB_BUCKET} is not set")
    queues = read_queues(os.environ)
    import boto3  # Lambda's Python runtime includes boto3: the function's only dependency

    return JobsApi(JobBucket(s3_client(), bucket), boto3.client("sqs"), queues)


def handle_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """A REST API (v1) proxy event in, a proxy response out."""
    started = time.perf_counter()
    token = request_id_var.set(getattr(context, "aws_request_id", None))
    try:
        response = api_from_env().answer(event)
    except ModelrailError as exc:
        if exc.status >= 500:
            log.error("jobs request failed", extra={"error": exc.message, "code": exc.code})
        response = error_response(exc)
    except Exception:  # a bug must still answer with the SPEC's JSON body
        log.exception("jobs bug")
        response = error_response(InternalError("internal error; it has been logged"))
    log.info(
        "request",
        extra={
            "method": str(event.get("httpMethod")),
            "resource": str(event.get("resource")),
            "status": response["statusCode"],
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        },
    )
    request_id_var.reset(token)
    return response
