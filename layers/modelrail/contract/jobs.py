"""Jobs: the names the jobs API function, the per-model job workers, the stack and local mode all share.

A job is work past the synchronous limits (API Gateway 10 MB / 29 s, Lambda 6 MB). The jobs API function
answers ``routes.JOB_ROUTES`` and ``routes.job_submit_route(name)``: it writes the job's input and state to the
job bucket and sends one message to the model's job queue. The model's job worker (its Lambda function's image
or package with another handler; local mode: a worker process polling the embedded queue) runs the instances
at the model's batch size, writing one result part per chunk and a checkpoint, so a retried message resumes
without lost or duplicated lines.

Job bucket layout (every key built here, from a validated job id and model name only)::

    jobs/<job_id>/job.json            state: owner, model, status, counts, errors, timestamps, limits
    jobs/<job_id>/input.jsonl         instances, one JSON value per line (inline submit or presigned PUT)
    jobs/<job_id>/parts/<chunk>.jsonl results of one chunk, written before the checkpoint that counts it
    jobs/<job_id>/results.jsonl       the whole result, one line per input line, in input order
    jobs/<job_id>/cancel              written by ``DELETE /v1/jobs/<id>``; the worker stops at its next chunk

This module holds names and limits (stdlib and ``modelrail.constants`` only); the behaviour lives in ``modelrail.jobs``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from modelrail import constants

ENV_JOB_BUCKET: Final = "MODELRAIL_JOB_BUCKET"
"""The job bucket's name (jobs API function and every worker)."""
ENV_JOB_QUEUES: Final = "MODELRAIL_JOB_QUEUES"
"""Jobs API function: JSON object, model name -> its job queue's URL (only models that take jobs); a value that is
not a URL is a queue name, appended to ``ENV_JOB_QUEUE_URL_PREFIX``."""
ENV_JOB_QUEUE_URL_PREFIX: Final = "MODELRAIL_JOB_QUEUE_URL_PREFIX"
"""Jobs API function: ``https://sqs.<region>.<url suffix>/<account>/``, once for every queue, so the map holds
names only (the stack sets it: Lambda caps a function's environment at 4 KB, and every model adds a queue)."""
ENV_JOB_QUEUE_URL: Final = "MODELRAIL_JOB_QUEUE_URL"
"""A worker: its own model's queue URL (it sends itself a continuation message before its time runs out)."""
ENV_JOB_ENDPOINT_NAME: Final = "MODELRAIL_JOB_ENDPOINT_NAME"
"""A GPU model's worker: its SageMaker endpoint. Set, the worker sends each batch to that endpoint's ``v1-predict``
(``InvokeEndpoint``) instead of loading the model; unset (a CPU model), it runs the model's own ONNX session."""
ENV_JOB_BATCH_SIZE: Final = "MODELRAIL_JOB_BATCH_SIZE"
"""A GPU model's worker: instances per ``InvokeEndpoint`` call (the live artifact's ``serving.max_batch_size``)."""

ENDPOINT_WORKER_MEMORY_MB: Final = 512
"""A GPU model's worker: it only reads lines, sends batches to the endpoint and writes results (no model)."""

JOB_API_HANDLER: Final = "functions/jobs/handler.py:handler"
"""The jobs API function's handler (zip, like the catalog)."""
JOB_WORKER_HANDLER: Final = "functions/lambda_inference/worker.py:handler"
"""The job worker's handler, shipped in the model function's image (another ``CMD``)."""

JOB_ID = re.compile(r"[0-9a-f]{32}")
"""A job id: 32 lowercase hex digits (uuid4), checked before it reaches any key, header or log line."""

KEY_PREFIX: Final = "jobs/"

# Limits: stated here once, enforced by the jobs API (4xx) and the worker (a failed job or a failed line), and
# documented in docs/serving.md. The stack's bucket lifecycle reads EXPIRY_DAYS.
MAX_LINES: Final = 100_000
"""Instances (lines) per job, inline or uploaded."""
MAX_UPLOAD_BYTES: Final = 1024 * 1024 * 1024
"""An uploaded JSON Lines file's size (1 GiB); a presigned PUT cannot cap it, so the worker checks it first."""
MAX_LINE_BYTES: Final = 6 * 1024 * 1024
"""One line: at most what one synchronous request to the model could carry (Lambda's 6 MB)."""
UPLOAD_URL_EXPIRY_S: Final = 3600
"""How long the presigned PUT URL of an upload job works; a job with no upload by then fails."""
RESULTS_URL_EXPIRY_S: Final = 3600
"""How long each presigned GET URL of the results works (every ``GET /v1/jobs/<id>`` makes a fresh one)."""
EXPIRY_DAYS: Final = 7
"""Everything under ``jobs/`` expires this many days after it was written (the job bucket's lifecycle rule)."""
MAX_LISTED_ERRORS: Final = 100
"""Per-line errors listed in the job's status; the count covers all, and results.jsonl has every one."""
WORKER_TIMEOUT_S: Final = 900
"""A CPU model's job worker function timeout (Lambda's maximum, 15 minutes)."""
QUEUE_VISIBILITY_TIMEOUT_S: Final = 6 * WORKER_TIMEOUT_S
"""AWS: "set the source queue's visibility timeout to at least six times the configuration timeout on your
function" (docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html)."""
MAX_RECEIVE_COUNT: Final = 5
"""Deliveries of one message before the queue's redrive policy moves it to the dead-letter queue."""


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL: Final = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


def job_prefix(job_id: str) -> str:
    """``jobs/<job_id>/``; raises ``ValueError`` for anything but a job id."""
    if not JOB_ID.fullmatch(job_id):
        raise ValueError(f"not a job id: {job_id!r}")
    return f"{KEY_PREFIX}{job_id}/"


def state_key(job_id: str) -> str:
    return f"{job_prefix(job_id)}job.json"


def input_key(job_id: str) -> str:
    return f"{job_prefix(job_id)}input.jsonl"


def part_key(job_id: str, chunk: int) -> str:
    if chunk < 0:
        raise ValueError(f"chunk {chunk} < 0")
    return f"{job_prefix(job_id)}parts/{chunk:06d}.jsonl"


def results_key(job_id: str) -> str:
    return f"{job_prefix(job_id)}results.jsonl"


def cancel_key(job_id: str) -> str:
    return f"{job_prefix(job_id)}cancel"


def job_message(job_id: str, model: str) -> dict[str, str]:
    """The body (as JSON) of every message on a model's job queue: which job, for which model."""
    job_prefix(job_id)
    return {"job_id": job_id, "model": model}


def endpoint_worker_env(
    *, model: str, version: str, bucket: str, queue_url: str, endpoint_name: str, batch_size: int
) -> dict[str, str]:
    """A GPU model's worker's whole environment (the stack's, and local mode's on top of its AWS endpoints): the
    model and live version it works for, the job bucket, its own queue, and the endpoint and batch size each
    ``InvokeEndpoint`` call uses."""
    return {
        constants.ENV_MODEL_NAME: model,
        constants.ENV_MODEL_VERSION: version,
        ENV_JOB_BUCKET: bucket,
        ENV_JOB_QUEUE_URL: queue_url,
        ENV_JOB_ENDPOINT_NAME: endpoint_name,
        ENV_JOB_BATCH_SIZE: str(batch_size),
    }
