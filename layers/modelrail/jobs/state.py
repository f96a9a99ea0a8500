"""A job's state (``jobs/<id>/job.json``) and the job bucket it lives in.

One writer at a time: the jobs API writes job.json when it creates the job, then only the worker that holds the
job's queue message writes it (SQS hides a received message from every other consumer until its visibility
timeout ends). A cancel is a separate object (``contract.jobs.cancel_key``), so the API never overwrites a
checkpoint the worker is writing.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from modelrail.contract import jobs as contract
from modelrail.contract.jobs import JobStatus

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

JSON_TYPE = "application/json"
JSON_LINES_TYPE = "application/jsonl"


def now_iso(now_s: float | None = None) -> str:
    """An ISO 8601 UTC timestamp with milliseconds."""
    now_s = time.time() if now_s is None else now_s
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now_s)) + f".{int(now_s * 1000) % 1000:03d}Z"


@dataclass
class LineError:
    """One input line that has no prediction: its 1-based number, the error's code and message."""

    line: int
    code: str
    message: str


@dataclass
class JobState:
    """What job.json holds."""

    job_id: str
    model: str
    owner: str
    input: str
    """``inline`` or ``upload``."""
    status: JobStatus = JobStatus.QUEUED
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    started_at: str | None = None
    finished_at: str | None = None
    upload_expires_at_s: float | None = None
    """Upload jobs: when the presigned PUT URL stops working (epoch seconds)."""
    total: int | None = None
    """Lines in the input; known once the worker has counted an upload."""
    done: int = 0
    """Lines with a result (a prediction or an error) in the parts written so far."""
    chunk: int = 0
    """The next chunk to run: parts 0 .. chunk-1 are written."""
    offset: int = 0
    """Byte offset in the input where line ``done + 1`` starts (a resumed job reads from there)."""
    input_etag: str | None = None
    """The input's ETag when the job started: every read asks for exactly it (``IfMatch``), so an upload replaced
    through a still-valid URL fails the job instead of mixing two files."""
    chunk_lines: int | None = None
    """Lines per chunk, fixed when the job starts so a resumed job cuts the same chunks."""
    error_count: int = 0
    errors: list[LineError] = field(default_factory=list)
    """The first ``contract.MAX_LISTED_ERRORS`` line errors."""
    error: dict[str, str] | None = None
    """A failed job: ``{"code", "message"}``."""
    invocations: int = 0
    """Worker invocations that ran this job (a resumed or continued job has more than one)."""

    def to_json(self) -> bytes:
        """job.json's bytes."""
        document = asdict(self)
        document["status"] = self.status.value
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> JobState:
        """Read job.json (written by ``to_json``)."""
        document: dict[str, Any] = json.loads(data)
        document["status"] = JobStatus(document["status"])
        document["errors"] = [LineError(**item) for item in document.get("errors", [])]
        return cls(**document)

    def add_errors(self, errors: list[LineError]) -> None:
        """Count line errors; list the first few."""
        self.error_count += len(errors)
        room = contract.MAX_LISTED_ERRORS - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])

    def touch(self) -> None:
        """Stamp ``updated_at``."""
        self.updated_at = now_iso()


def _missing(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    return exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}


class JobBucket:
    """The job bucket: job.json, the input, the parts, the results and the cancel marker of every job."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def load(self, job_id: str) -> JobState | None:
        """job.json, or ``None`` when there is no such job."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=contract.state_key(job_id))["Body"].read()
        except Exception as exc:
            if _missing(exc):
                return None
            raise
        return JobState.from_json(body)

    def save(self, state: JobState) -> None:
        """Write job.json (a checkpoint)."""
        state.touch()
        self.client.put_object(
            Bucket=self.bucket, Key=contract.state_key(state.job_id), Body=state.to_json(), ContentType=JSON_TYPE
        )

    def exists(self, key: str) -> bool:
        """Whether an object is there."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _missing(exc):
                return False
            raise
        return True

    def head(self, key: str) -> tuple[int, str] | None:
        """An object's size in bytes and ETag, or ``None`` when it is not there."""
        try:
            found = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if _missing(exc):
                return None
            raise
        return int(found["ContentLength"]), str(found["ETag"])

    def cancelled(self, job_id: str) -> bool:
        """Whether ``DELETE /v1/jobs/<id>`` has been called."""
        return self.exists(contract.cancel_key(job_id))

    def put(self, key: str, body: bytes, content_type: str = JSON_LINES_TYPE) -> None:
        """Write one object."""
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def presigned(self, method: str, key: str, expires_s: int) -> str:
        """A presigned URL for ``get_object`` or ``put_object`` on one key."""
        params = {"Bucket": self.bucket, "Key": key}
        return str(self.client.generate_presigned_url(method, Params=params, ExpiresIn=expires_s))
