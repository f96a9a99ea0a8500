"""Local mode's SQS event source against the embedded moto server and a real function process: a message is
deleted when the invocation succeeds; when it fails, or its answer lists it in ``batchItemFailures``, it comes
back after the visibility timeout, and after ``MAX_RECEIVE_COUNT`` receives the redrive policy moves it to the
dead-letter queue (docs.aws.amazon.com/lambda/latest/dg/with-sqs.html)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelrail.contract import jobs as contract
from modelrail.local.jobs import LocalJobs
from modelrail.local.lambda_function import FunctionConfig, LambdaFunction
from modelrail.local.s3 import EmbeddedS3

HANDLER = """
import json, os
def handler(event, context):
    body = json.loads(event["Records"][0]["body"])
    with open(os.environ["SEEN"], "a") as seen:
        seen.write(body["job_id"] + "\\n")
    if body["model"] == "fail":
        raise RuntimeError("this message fails")
    if body["model"] == "report":
        return {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    return {"batchItemFailures": []}
"""


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[tuple[LocalJobs, Path]]:
    handler = tmp_path / "worker.py"
    handler.write_text(HANDLER)
    seen = tmp_path / "seen.txt"
    output = io.StringIO()
    with EmbeddedS3() as s3:
        local = LocalJobs(s3, ["m"], worker_timeout_s=1, output=output)
        local.create()
        function = LambdaFunction(
            FunctionConfig(
                name="m-jobs", handler=f"{handler}:handler", env={"SEEN": str(seen)}, timeout_s=1, concurrency=1
            ),
            output=output,
        )
        function.start()
        function.wait_ready()
        local.start_sources({"m": function})
        try:
            yield local, seen
        finally:
            local.stop()
            function.close()


def counts(local: LocalJobs, url: str) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    found = local.sqs().get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]  # type: ignore[arg-type]
    return int(found[names[0]]), int(found[names[1]])


def wait_until(condition: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    pytest.fail("condition not met in time")


def test_success_deletes_failure_retries_then_dead_letters(jobs: tuple[LocalJobs, Path]) -> None:
    local, seen = jobs
    queue, dlq = local.queues["m"], local.dead_letter_queues["m"]
    sqs = local.sqs()
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"job_id": "ok", "model": "m"}))
    wait_until(lambda: seen.exists() and "ok" in seen.read_text().split(), 30)
    wait_until(lambda: counts(local, queue) == (0, 0), 10)

    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"job_id": "bad", "model": "fail"}))
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"job_id": "reported", "model": "report"}))
    visibility_s = 1 + 5
    wait_until(lambda: counts(local, dlq)[0] == 2, (2 * contract.MAX_RECEIVE_COUNT + 2) * visibility_s + 10)
    assert seen.read_text().split().count("bad") == contract.MAX_RECEIVE_COUNT
    assert seen.read_text().split().count("reported") == contract.MAX_RECEIVE_COUNT
    assert counts(local, queue) == (0, 0)
