"""Jobs in local mode: the job bucket and a queue (+ dead-letter queue) per model on the embedded moto server,
the jobs API function, one job worker function per model, and an event source per worker polling its queue.

The event source does what Lambda's SQS event source mapping does, one batch of one message at a time
(docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, services-sqs-configure.html): it long-polls the queue,
invokes the worker synchronously with the SQS event, deletes the message when the invocation succeeds, and
leaves it when the invocation fails, times out or its process dies, or its answer lists the message in
``batchItemFailures`` (the stack's mapping sets ``ReportBatchItemFailures``), so it becomes visible again after the
queue's visibility timeout; after ``contract.MAX_RECEIVE_COUNT`` receives the queue's redrive policy moves it to
the dead-letter queue. The stack sets the visibility timeout to six times the worker's timeout, as AWS advises
for throttled retries; local mode has no throttling and uses the worker's timeout plus a margin, so a killed
worker's job resumes within one timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import httpx

from modelrail.contract import jobs as contract
from modelrail.local.events import LOCAL_ACCOUNT_ID
from modelrail.local.lambda_function import FunctionConfig, LambdaFunction
from modelrail.local.routing import JOBS
from modelrail.local.s3 import LOCAL_REGION, EmbeddedS3

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

JOB_API_MEMORY_MB = 256
JOB_API_TIMEOUT_S = 10.0
ENV_SQS_ENDPOINT_URL = "AWS_ENDPOINT_URL_SQS"
"""boto3's own variable for the SQS endpoint ("Service-specific endpoints", AWS SDKs and Tools reference guide)."""
LONG_POLL_S = 5
"""How long one ReceiveMessage waits for a message (Lambda's poller uses 20 s; shorter here so Ctrl-C is quick)."""
VISIBILITY_MARGIN_S = 5


def queue_name(model: str) -> str:
    """A model's job queue."""
    return f"{model}-jobs"


class LocalJobs:
    """The job bucket and every queue on the embedded server, and the event sources that feed the workers."""

    def __init__(self, s3: EmbeddedS3, models: Sequence[str], *, worker_timeout_s: float, output: TextIO) -> None:
        self.s3 = s3
        self.models = list(models)
        self.worker_timeout_s = worker_timeout_s
        self.output = output
        self.bucket = f"{s3.bucket}-jobs"
        self.queues: dict[str, str] = {}
        self.dead_letter_queues: dict[str, str] = {}
        self.sources: dict[str, SqsEventSource] = {}

    def sqs(self) -> SQSClient:
        """A boto3 SQS client for the embedded server, with the fake credentials."""
        import boto3

        from modelrail.local.s3 import FAKE_CREDENTIALS

        return boto3.client(
            "sqs",
            endpoint_url=self.s3.endpoint_url,
            region_name=LOCAL_REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    def create(self) -> None:
        """The job bucket, and a queue with a dead-letter queue and redrive per model."""
        self.s3.client().create_bucket(Bucket=self.bucket)
        sqs = self.sqs()
        visibility = int(self.worker_timeout_s) + VISIBILITY_MARGIN_S
        for model in self.models:
            dlq = sqs.create_queue(QueueName=f"{queue_name(model)}-dlq")["QueueUrl"]
            dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(contract.MAX_RECEIVE_COUNT)}
            attributes = {"VisibilityTimeout": str(visibility), "RedrivePolicy": json.dumps(redrive)}
            self.queues[model] = sqs.create_queue(QueueName=queue_name(model), Attributes=attributes)["QueueUrl"]
            self.dead_letter_queues[model] = dlq

    def env(self) -> dict[str, str]:
        """What the jobs API and every worker get on top of their own environment."""
        return {contract.ENV_JOB_BUCKET: self.bucket, ENV_SQS_ENDPOINT_URL: self.s3.endpoint_url, **self.s3.env()}

    def api_function(self, *, root: Path, tmp_root: Path, lambda_env: Mapping[str, str]) -> LambdaFunction:
        """The jobs API function (``contract.JOB_API_HANDLER``), as the stack deploys it."""
        env = {**self.env(), contract.ENV_JOB_QUEUES: json.dumps(self.queues), **lambda_env}
        config = FunctionConfig(
            name=JOBS,
            handler=str(root / contract.JOB_API_HANDLER),
            env=env,
            memory_mb=JOB_API_MEMORY_MB,
            timeout_s=JOB_API_TIMEOUT_S,
            tmp_root=tmp_root,
        )
        return LambdaFunction(config, output=self.output)

    def worker_function(
        self,
        model: str,
        *,
        root: Path,
        model_env: Mapping[str, str],
        memory_mb: int,
        tmp_root: Path,
        tmp_variables: tuple[str, ...],
    ) -> LambdaFunction:
        """A model's job worker: the model function's environment, the worker handler, the worker's timeout."""
        env = {**model_env, **self.env(), contract.ENV_JOB_QUEUE_URL: self.queues[model]}
        config = FunctionConfig(
            name=f"{model}-{JOBS}",
            handler=str(root / contract.JOB_WORKER_HANDLER),
            env=env,
            memory_mb=memory_mb,
            timeout_s=self.worker_timeout_s,
            concurrency=1,
            tmp_root=tmp_root,
            tmp_variables=tmp_variables,
        )
        return LambdaFunction(config, output=self.output)

    def start_sources(self, workers: Mapping[str, LambdaFunction]) -> None:
        """Start polling each model's queue for its worker."""
        for model, function in workers.items():
            source = SqsEventSource(self.sqs(), self.queues[model], function, output=self.output)
            self.sources[model] = source
            source.start()

    def stop(self) -> None:
        """Stop polling (an invocation in flight is left to end with its function)."""
        for source in self.sources.values():
            source.stop()
        for source in self.sources.values():
            source.join(LONG_POLL_S + 1)


def sqs_event(message: Mapping[str, Any], *, queue_arn: str) -> dict[str, Any]:
    """The event Lambda's SQS event source sends for one message (docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
    "Example standard queue message event")."""
    body = str(message["Body"])
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": body,
                "attributes": dict(message.get("Attributes") or {}),
                "messageAttributes": dict(message.get("MessageAttributes") or {}),
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": LOCAL_REGION,
            }
        ]
    }


def _reported_failed(payload: bytes, message_id: str) -> bool:
    """Whether the function's answer lists the message in ``batchItemFailures`` (the stack's event source mapping
    has ``ReportBatchItemFailures``)."""
    try:
        answer = json.loads(payload)
    except ValueError:
        return False
    failures = answer.get("batchItemFailures") if isinstance(answer, dict) else None
    return any(isinstance(item, dict) and item.get("itemIdentifier") == message_id for item in failures or [])


class SqsEventSource(threading.Thread):
    """Lambda's SQS event source mapping for one function, batch size 1: long poll, invoke, delete on success."""

    def __init__(
        self, sqs: SQSClient, queue_url: str, function: LambdaFunction, *, output: TextIO | None = None
    ) -> None:
        super().__init__(name=f"sqs-event-source-{function.config.name}", daemon=True)
        self.sqs = sqs
        self.queue_url = queue_url
        self.function = function
        self.output = output if output is not None else sys.stderr
        self.queue_arn = f"arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{queue_url.rsplit('/', 1)[-1]}"
        self._stopping = threading.Event()

    def say(self, message: str) -> None:
        print(f"[{self.function.config.name}] {message}", file=self.output, flush=True)

    def stop(self) -> None:
        """Stop after the current poll."""
        self._stopping.set()

    def run(self) -> None:
        """Poll until stopped."""
        while not self._stopping.is_set():
            try:
                found = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=1,
                    WaitTimeSeconds=LONG_POLL_S,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception as exc:  # the server is stopping, or a transient error: poll again
                if self._stopping.is_set():
                    return
                self.say(f"polling failed: {type(exc).__name__}; retrying")
                time.sleep(1)
                continue
            for message in found:
                if self._stopping.is_set():
                    return
                self._deliver(message)

    def _deliver(self, message: Mapping[str, Any]) -> None:
        started = time.perf_counter()
        event = sqs_event(message, queue_arn=self.queue_arn)

        async def invoke() -> Any:
            async with httpx.AsyncClient() as client:
                return await self.function.invoke(event, client=client)

        try:
            invocation = asyncio.run(invoke())
        except RuntimeError as exc:  # the function is stopped
            self.say(f"not invoked: {exc}")
            return
        seconds = time.perf_counter() - started
        if invocation.function_error is None and not _reported_failed(invocation.payload, message["MessageId"]):
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            self.say(f"message {message['MessageId'][:8]} handled in {seconds:.1f} s; deleted")
            return
        try:
            what = json.loads(invocation.payload).get("errorMessage", "")[:300]
        except ValueError:
            what = "unreadable error"
        self.say(
            f"message {message['MessageId'][:8]} failed after {seconds:.1f} s ({what}); it returns to the queue "
            "when its visibility timeout ends"
        )
