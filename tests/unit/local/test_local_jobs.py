"""Local mode's SQS event source builds the event Lambda's SQS event source mapping sends
(docs.aws.amazon.com/lambda/latest/dg/with-sqs.html, "Example standard queue message event")."""

from __future__ import annotations

import json
from typing import Any

from modelrail.local.jobs import sqs_event


def test_the_event_is_lambdas_sqs_event_for_one_message() -> None:
    message: dict[str, Any] = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": json.dumps({"job_id": "a" * 32, "model": "minilm"}),
        "Attributes": {"ApproximateReceiveCount": "2"},
        "MD5OfBody": "x",
    }
    event = sqs_event(message, queue_arn="arn:aws:sqs:us-east-1:123456789012:minilm-jobs")
    (record,) = event["Records"]
    assert record["messageId"] == "m-1"
    assert record["receiptHandle"] == "r-1"
    assert json.loads(record["body"]) == {"job_id": "a" * 32, "model": "minilm"}
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":minilm-jobs")
    assert record["awsRegion"] == "us-east-1"
