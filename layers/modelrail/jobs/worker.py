"""The job worker: one SQS message (``{"job_id", "model"}``) in, the job run chunk by chunk, a checkpoint after each.

Per chunk it writes ``parts/<chunk>.jsonl`` and only then the checkpoint in job.json (lines done, next chunk,
the input's byte offset), so a worker that dies anywhere resumes at the first chunk not checkpointed: a part
written twice is written with the same lines, and nothing is counted twice. Between chunks it checks for a
cancel and for time: near its timeout it sends its queue a continuation message and returns, as Lambda's SQS
event source then deletes the message it was given ("When your function successfully processes a batch, Lambda
deletes its messages from the queue", docs.aws.amazon.com/lambda/latest/dg/with-sqs.html). An exception goes
back to the event source: the message reappears after the queue's visibility timeout and, after
``contract.MAX_RECEIVE_COUNT`` deliveries, moves to the dead-letter queue.

Bad input is the job's, not the worker's: a malformed line gets an error line in the results (the rest
completes); an upload that is missing, too large or not JSON Lines fails the job with a message saying so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from modelrail.contract import jobs as contract
from modelrail.contract.jobs import TERMINAL, JobStatus
from modelrail.errors import ModelrailError
from modelrail.jobs.lines import RawLine, parse_line, raw_lines
from modelrail.jobs.state import JSON_LINES_TYPE, JobBucket, JobState, LineError, now_iso
from modelrail.logs import get_logger

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = get_logger("jobs.worker")

CHUNK_LINES = 256
"""Lines per chunk (rounded up to a multiple of the model's batch size): a part and a checkpoint per chunk."""
SAMPLE_LINES = 100
"""An upload whose first lines are mostly not JSON is not JSON Lines: the job fails instead of erroring each."""
MIN_RESERVE_MS = 5_000
"""Time left at which a worker hands the rest of its job to a continuation message, at the least."""
MULTIPART_BYTES = 8 * 1024 * 1024
"""results.jsonl is assembled in multipart uploads of this size (S3's minimum part is 5 MiB)."""


class Predictor(Protocol):
    """Predicts a batch of instances, exactly as ``POST /v1/models/<name>/predict`` would.

    Raises a 4xx ``ModelrailError`` for an instance it refuses (the worker then finds which, one at a time) and
    a 5xx one when the model cannot answer now (the message is retried).
    """

    @property
    def batch_size(self) -> int:
        """The model's max batch size (a chunk is a multiple of it)."""

    def predict(self, instances: Sequence[Any]) -> list[Any]:
        """One prediction per instance, in order."""

    def encode(self, prediction: Any) -> bytes:
        """A prediction as the synchronous answer encodes it."""


@dataclass(frozen=True)
class JobFailedError(Exception):
    """The job's input cannot be run; the job fails with this code and message."""

    code: str
    message: str


def _json(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _strip_index(message: str) -> str:
    """A processor's ``instance 0: ...`` message about a one-instance batch, without the index."""
    head, sep, rest = message.partition(": ")
    return rest if sep and head.startswith("instance ") else message


@dataclass
class Worker:
    """Runs jobs of one model."""

    bucket: JobBucket
    model: str
    predictor: Callable[[], Predictor]
    """The model's predictor, loaded on first use (a message for a finished job never loads the model)."""
    send_continuation: Callable[[str, int], None]
    """Queue this job again for this worker's model, after a delay in seconds."""

    def run(self, job_id: str, remaining_ms: Callable[[], int]) -> str:
        """Run (or resume) one job until it finishes, is cancelled, or time runs short; returns what happened."""
        state = self.bucket.load(job_id)
        if state is None or state.model != self.model:
            log.error("no such job for this model; message dropped", extra={"job_id": job_id})
            return "dropped"
        if state.status in TERMINAL:
            return state.status.value
        if self.bucket.cancelled(job_id):
            return self._finish(state, JobStatus.CANCELLED)
        state.invocations += 1
        try:
            if not self._input_ready(state):
                return "waiting-for-upload"
            return self._run(state, remaining_ms)
        except JobFailedError as exc:
            state.error = {"code": exc.code, "message": exc.message}
            return self._finish(state, JobStatus.FAILED)

    def _input_ready(self, state: JobState) -> bool:
        key = contract.input_key(state.job_id)
        found = self.bucket.head(key)
        if found is None:
            expires = state.upload_expires_at_s or 0.0
            if state.input != "upload" or time.time() > expires:
                raise JobFailedError(
                    "upload_missing", f"nothing was uploaded to the job's URL before it expired at {now_iso(expires)}"
                )
            # Not there yet: look again later, less often the longer it takes (up to a minute apart; SQS's
            # DelaySeconds goes to 900: docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/
            # API_SendMessage.html).
            self.bucket.save(state)  # counts the looks: 1 s, 2 s, 4 s ... 60 s apart
            self.send_continuation(state.job_id, min(60, 2 ** min(6, state.invocations - 1)))
            return False
        size, etag = found
        if state.input_etag is None:
            state.input_etag = etag
        if size > contract.MAX_UPLOAD_BYTES:
            raise JobFailedError(
                "payload_too_large", f"the upload is {size} bytes; a job's input is at most {contract.MAX_UPLOAD_BYTES}"
            )
        if state.total is None:
            state.total = self._count(key, state.input_etag)
        return True

    def _stream(self, key: str, start: int, etag: str | None) -> Iterator[bytes]:
        client: S3Client = self.bucket.client
        options: dict[str, str] = {"Range": f"bytes={start}-"} if start else {}
        if etag is not None:
            options["IfMatch"] = etag
        try:
            body = client.get_object(Bucket=self.bucket.bucket, Key=key, **options)["Body"]
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code in {"PreconditionFailed", "412"}:
                replaced = "the upload was replaced while the job ran; submit a new job"
                raise JobFailedError("invalid_input", replaced) from None
            raise
        yield from body.iter_chunks(1024 * 1024)

    def _count(self, key: str, etag: str | None) -> int:
        """Lines in an upload; fails the job for one with no lines, too many, or mostly not JSON."""
        total = 0
        sampled: list[LineError | None] = []
        for line in raw_lines(self._stream(key, 0, etag)):
            total += 1
            if total <= SAMPLE_LINES:
                sampled.append(parse_line(line, total)[1])
            if total > contract.MAX_LINES:
                raise JobFailedError(
                    "invalid_input", f"the upload has more than {contract.MAX_LINES} lines, the most a job takes"
                )
        if total == 0:
            raise JobFailedError("invalid_input", "the upload is empty; send JSON Lines, one instance per line")
        bad = [error for error in sampled if error is not None]
        if len(bad) * 2 > len(sampled):
            raise JobFailedError(
                "invalid_input",
                f"the upload is not JSON Lines: {len(bad)} of its first {len(sampled)} lines are not JSON values "
                f"(first: {bad[0].message}); send one JSON instance per line",
            )
        return total

    def _run(self, state: JobState, remaining_ms: Callable[[], int]) -> str:
        predictor = self.predictor()
        if state.chunk_lines is None:
            size = max(1, predictor.batch_size)
            state.chunk_lines = -(-CHUNK_LINES // size) * size
        if state.status is JobStatus.QUEUED:
            state.status, state.started_at = JobStatus.RUNNING, now_iso()
        self.bucket.save(state)
        total = state.total or 0
        lines = raw_lines(
            self._stream(contract.input_key(state.job_id), state.offset, state.input_etag), start=state.offset
        )
        slowest_ms = 0.0
        while state.done < total:
            if self.bucket.cancelled(state.job_id):
                return self._finish(state, JobStatus.CANCELLED)
            started = time.perf_counter()
            chunk = [line for _, line in zip(range(min(state.chunk_lines, total - state.done)), lines, strict=False)]
            if not chunk:
                raise JobFailedError("invalid_input", f"the input ended after {state.done} of {total} lines")
            body, errors = self._chunk(predictor, chunk, first=state.done + 1)
            self.bucket.put(contract.part_key(state.job_id, state.chunk), body)
            if self._superseded(state):
                return "superseded"
            state.done += len(chunk)
            state.offset = chunk[-1].end
            state.chunk += 1
            state.add_errors(errors)
            self.bucket.save(state)  # the checkpoint: only after the part is written
            slowest_ms = max(slowest_ms, (time.perf_counter() - started) * 1000)
            if state.done < total and remaining_ms() < max(MIN_RESERVE_MS, 2 * slowest_ms):
                self.send_continuation(state.job_id, 0)
                log.info("job continues in a new invocation", extra={"job_id": state.job_id, "done": state.done})
                return "continued"
        self._assemble(state)
        return self._finish(state, JobStatus.SUCCEEDED)

    def _superseded(self, state: JobState) -> bool:
        """Whether another worker has checkpointed past the chunk this one just wrote (SQS delivers at least once:
        a duplicate message may run the same job at the same time). Both write the same parts; the one behind stops
        rather than overwrite the other's checkpoint with an older one."""
        latest = self.bucket.load(state.job_id)
        if latest is None or (latest.chunk <= state.chunk and latest.status not in TERMINAL):
            return False
        log.info("another worker is further on this job; stopping", extra={"job_id": state.job_id})
        return True

    def _chunk(self, predictor: Predictor, chunk: list[RawLine], *, first: int) -> tuple[bytes, list[LineError]]:
        """One part's bytes: a result line per input line, in order; and the chunk's line errors."""
        parsed = [parse_line(line, first + index) for index, line in enumerate(chunk)]
        valid = [index for index, (_, error) in enumerate(parsed) if error is None]
        results: dict[int, Any] = {}
        errors: dict[int, LineError] = {index: error for index, (_, error) in enumerate(parsed) if error is not None}
        instances = [parsed[index][0] for index in valid]
        try:
            results = dict(zip(valid, predictor.predict(instances), strict=True)) if instances else {}
        except ModelrailError as exc:
            if exc.status >= 500:
                raise
            size = max(1, predictor.batch_size)
            for start in range(0, len(valid), size):
                batch = valid[start : start + size]
                self._refused_batch(
                    predictor,
                    [parsed[index][0] for index in batch],
                    batch,
                    first=first,
                    results=results,
                    errors=errors,
                )
        out = bytearray()
        for index in range(len(chunk)):
            if index in errors:
                error = errors[index]
                out += _json({"line": error.line, "error": error.message, "code": error.code}) + b"\n"
            else:
                out += b'{"prediction":' + predictor.encode(results[index]) + b"}\n"
        return bytes(out), [errors[index] for index in sorted(errors)]

    @staticmethod
    def _refused_batch(
        predictor: Predictor,
        instances: list[Any],
        indexes: list[int],
        *,
        first: int,
        results: dict[int, Any],
        errors: dict[int, LineError],
    ) -> None:
        """After a chunk was refused: one batch of it again, and only a batch refused again one instance at a time
        (so the others keep the batch a synchronous call of them would run: a batched model's numbers can differ in
        the last digits with the batch's shape; and a refused line fails alone)."""
        if len(indexes) > 1:
            try:
                results.update(zip(indexes, predictor.predict(instances), strict=True))
                return
            except ModelrailError as exc:
                if exc.status >= 500:
                    raise
        for index, instance in zip(indexes, instances, strict=True):
            try:
                results[index] = predictor.predict([instance])[0]
            except ModelrailError as one:
                if one.status >= 500:
                    raise
                message = f"line {first + index}: {_strip_index(one.message)}"
                errors[index] = LineError(first + index, one.code, message)

    def _assemble(self, state: JobState) -> None:
        """results.jsonl = the parts in order (a multipart upload once it passes ``MULTIPART_BYTES``)."""
        client: S3Client = self.bucket.client
        bucket, key = self.bucket.bucket, contract.results_key(state.job_id)
        buffer = bytearray()
        upload_id: str | None = None
        parts: list[Any] = []

        def flush() -> None:
            assert upload_id is not None
            number = len(parts) + 1
            part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=bytes(buffer))
            parts.append({"PartNumber": number, "ETag": part["ETag"]})

        try:
            for chunk in range(state.chunk):
                buffer += client.get_object(Bucket=bucket, Key=contract.part_key(state.job_id, chunk))["Body"].read()
                if len(buffer) >= MULTIPART_BYTES:
                    if upload_id is None:
                        created = client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=JSON_LINES_TYPE)
                        upload_id = created["UploadId"]
                    flush()
                    buffer = bytearray()
            if upload_id is None:
                self.bucket.put(key, bytes(buffer))
                return
            if buffer:
                flush()
            client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            if upload_id is not None:
                client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise

    def _finish(self, state: JobState, status: JobStatus) -> str:
        state.status, state.finished_at = status, now_iso()
        self.bucket.save(state)
        log.info("job finished", extra={"job_id": state.job_id, "status": status.value, "lines": state.done})
        return status.value


def job_message(body: str) -> dict[str, str]:
    """A queue message's ``{"job_id", "model"}``; anything else raises ``ValueError``."""
    document = json.loads(body or "")
    if not isinstance(document, dict) or not contract.JOB_ID.fullmatch(str(document.get("job_id"))):
        raise ValueError('not a job message: expected {"job_id": <32 hex digits>, "model": <name>}')
    return {"job_id": str(document["job_id"]), "model": str(document.get("model"))}
