"""One model's job queue and its dead-letter queue.

The jobs API function sends one message per submitted job; the model's worker sends itself a continuation
message before its time runs out, so a queue holds at most one message per unfinished job. A message that
fails ``MAX_RECEIVE_COUNT`` times (the worker crashed, timed out or raised) moves to the dead-letter queue.

The queue has a physical name derived from the stage's stack and the model (``queue_name``): the jobs API
function lives in the stage's stack and the queue in the model's nested stack, whose API method invokes that
function, so a reference from the function to the queue's URL would be a dependency cycle between the two
stacks. The name is known to both at synth without one (``queue_url`` / ``queue_arn``). A queue name must be
unique per account and Region and at most 80 characters (SQS API reference, CreateQueue ``QueueName``); the
stack name is unique per account and Region too.
"""

from __future__ import annotations

import hashlib

import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.scanners import skip_checkov
from modelrail.contract import jobs

QUEUE_NAME_MAX = 80
QUEUE_URL_MAX_BYTES = len("https://sqs..amazonaws.com.cn//") + 14 + 12 + QUEUE_NAME_MAX
"""A queue URL at its longest: a 14-character Region code, the China partitions' URL suffix, a 12-digit account."""
VISIBILITY_FACTOR = jobs.QUEUE_VISIBILITY_TIMEOUT_S // jobs.WORKER_TIMEOUT_S
"""Queue visibility timeout = 6 x the worker's timeout (``modelrail.contract.jobs``, which local mode reads too):
"set the source queue's visibility timeout to at least six times the configuration timeout on your function. The
extra time allows Lambda to retry if your function is throttled while processing a previous batch" (Lambda
developer guide, "Creating and configuring an Amazon SQS event source mapping")."""
MAX_RECEIVE_COUNT = jobs.MAX_RECEIVE_COUNT
"""Receives before a message moves to the dead-letter queue: "Set the maxReceiveCount on the source queue's
redrive policy to at least 5. This improves the chances of messages being processed before reaching the DLQ"
(Lambda developer guide, "Understanding SQS retries"). A job resumes from its last checkpoint on each receive."""
RETENTION = cdk.Duration.days(4)
"""How long a job may wait in its queue (SQS's default retention). Shorter than the job bucket's expiry, so a
message never outlives its job's objects."""
DLQ_RETENTION = cdk.Duration.days(14)
"""The SQS maximum, longer than the queue's own: a standard queue's message keeps its original enqueue time in
the dead-letter queue, so "it is a best practice to always set the retention period of a dead-letter queue to be
longer than the retention period of the original queue" (SQS developer guide, "Setting-up dead-letter queue
retention")."""


SSE_SQS_REASON = (
    "Encrypted at rest with SQS-managed keys (SSE-SQS, SqsManagedSseEnabled): 'SSE protects the contents of "
    "messages in queues using SQS-managed encryption keys (SSE-SQS) or keys managed in the AWS Key Management "
    "Service (SSE-KMS)' (SQS developer guide, 'Encryption at rest in Amazon SQS'). This check accepts only a KMS "
    "key; a job message names a job (its instances stay in the job bucket), so a KMS key would add cost and a key "
    "policy only."
)


def queue_name(stack_name: str, model_name: str) -> str:
    """``<stack>-jobs-<model>``; a hash of the stack name stands in for it when that would pass 80 characters."""
    name = f"{stack_name}-jobs-{model_name}"
    if len(name) <= QUEUE_NAME_MAX:
        return name
    digest = hashlib.sha256(stack_name.encode()).hexdigest()[:12]
    return f"mr-{digest}-jobs-{model_name}"


def queue_url(scope: Construct, name: str) -> str:
    """The queue's URL, ``https://sqs.<region>.<url suffix>/<account>/<name>`` (the form SQS's GetQueueUrl
    returns), built from the stack's pseudo parameters so it needs no reference to the queue itself."""
    stack = cdk.Stack.of(scope)
    return f"https://sqs.{stack.region}.{stack.url_suffix}/{stack.account}/{name}"


def queue_arn(scope: Construct, name: str) -> str:
    """The queue's ARN, from its name."""
    return cdk.Stack.of(scope).format_arn(service="sqs", resource=name, arn_format=cdk.ArnFormat.NO_RESOURCE_NAME)


class JobQueue(Construct):
    """A standard queue (SQS-managed SSE, TLS only) with a redrive policy to its dead-letter queue."""

    def __init__(self, scope: Construct, construct_id: str, *, name: str, worker_timeout: cdk.Duration) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=cdk.Duration.seconds(VISIBILITY_FACTOR * worker_timeout.to_seconds()),
            retention_period=RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letters),
        )
        for queue in (self.dead_letters, self.queue):
            skip_checkov(queue, "CKV_AWS_27", SSE_SQS_REASON)
