"""A job bucket and a queue in moto's in-process AWS, and API Gateway events for the job routes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from modelrail.jobs.api import JobsApi
from modelrail.jobs.state import JobBucket
from tests.support.fake_aws import fake_credentials

BUCKET = "job-bucket"
MODEL = "tiny"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fake_credentials(monkeypatch, unset=("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL"))
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield


@pytest.fixture
def bucket(aws: None) -> JobBucket:
    from modelrail.jobs.handler import s3_client

    return JobBucket(s3_client(), BUCKET)  # the jobs function's own client: SigV4 presigned URLs


@pytest.fixture
def queue(aws: None) -> str:
    return str(boto3.client("sqs").create_queue(QueueName=f"{MODEL}-jobs")["QueueUrl"])


@pytest.fixture
def api(bucket: JobBucket, queue: str) -> JobsApi:
    return JobsApi(bucket, boto3.client("sqs"), {MODEL: queue})


def event(
    method: str,
    path: str,
    body: Any = None,
    *,
    key_id: str | None = "key-a",
    user_arn: str | None = None,
    headers: dict[str, str] | None = None,
    raw: bytes | None = None,
) -> dict[str, Any]:
    """A REST API proxy event as API Gateway sends it for a job route."""
    job_id = path.rsplit("/", 1)[1] if path.startswith("/v1/jobs/") else None
    text = raw.decode() if raw is not None else (None if body is None else json.dumps(body))
    return {
        "resource": "/v1/jobs/{job_id}" if job_id else path,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "pathParameters": {"job_id": job_id} if job_id else None,
        "requestContext": {"identity": {"apiKeyId": key_id, "userArn": user_arn}},
        "body": text,
        "isBase64Encoded": False,
    }


def answer_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def messages(queue: str) -> list[dict[str, Any]]:
    found = boto3.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in found]
