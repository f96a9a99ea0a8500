"""The job worker against moto: results in order, per-line errors, failed uploads, resume without loss or
duplicates, continuation near the timeout, cancel. The predictor is a stand-in; e2e runs the real model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import boto3
import pytest

from modelrail.contract import jobs as contract
from modelrail.contract.jobs import JobStatus
from modelrail.errors import InvalidInputError, ModelUnavailableError
from modelrail.jobs import worker as worker_module
from modelrail.jobs.state import JobBucket, JobState
from modelrail.jobs.worker import Worker, job_message
from tests.unit.jobs.conftest import BUCKET, MODEL

JOB = "a" * 32


class Crash(BaseException):
    """Stands for kill -9: nothing after it runs, no handler catches it."""


class Lengths:
    """Predicts len(text); refuses anything but a string, like a text model's processor."""

    def __init__(self, *, batch_size: int = 2, crash_after: int | None = None) -> None:
        self.batch_size = batch_size
        self.crash_after = crash_after
        self.calls: list[list[Any]] = []

    def predict(self, instances: Sequence[Any]) -> list[Any]:
        if self.crash_after is not None and sum(len(call) for call in self.calls) >= self.crash_after:
            raise Crash
        self.calls.append(list(instances))
        for index, instance in enumerate(instances):
            if not isinstance(instance, str):
                raise InvalidInputError(f"instance {index}: expected a string, got {type(instance).__name__}")
        return [len(text) for text in instances]

    def encode(self, prediction: Any) -> bytes:
        return json.dumps(prediction).encode()


class Continuations(list[tuple[str, int]]):
    def __call__(self, job_id: str, delay_s: int) -> None:
        self.append((job_id, delay_s))


def make_job(bucket: JobBucket, lines: bytes, *, upload: bool = False, expires_in_s: float = 600) -> None:
    import time

    state = JobState(job_id=JOB, model=MODEL, owner="api-key:k", input="upload" if upload else "inline")
    if upload:
        state.upload_expires_at_s = time.time() + expires_in_s
    else:
        state.total = len(lines.splitlines())
    if lines or not upload:
        bucket.put(contract.input_key(JOB), lines)
    bucket.save(state)


def worker(bucket: JobBucket, predictor: Lengths, continuations: Continuations | None = None) -> Worker:
    return Worker(
        bucket,
        MODEL,
        predictor=lambda: predictor,
        send_continuation=continuations if continuations is not None else Continuations(),
    )


def results(bucket: JobBucket) -> list[Any]:
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=contract.results_key(JOB))["Body"].read()
    return [json.loads(line) for line in body.decode().splitlines()]


def plenty() -> int:
    return 600_000


def texts(count: int) -> bytes:
    return "".join(json.dumps("x" * (index % 7 + 1)) + "\n" for index in range(count)).encode()


def test_results_are_one_line_per_input_line_in_order(bucket: JobBucket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "CHUNK_LINES", 4)
    make_job(bucket, texts(11))
    assert worker(bucket, Lengths()).run(JOB, plenty) == "succeeded"
    assert results(bucket) == [{"prediction": index % 7 + 1} for index in range(11)]
    state = bucket.load(JOB)
    assert state is not None
    assert (state.done, state.total, state.chunk, state.error_count) == (11, 11, 3, 0)
    assert state.started_at
    assert state.finished_at


def test_a_malformed_line_fails_only_that_line(bucket: JobBucket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "CHUNK_LINES", 4)
    lines = b'"ab"\n{not json\n"abc"\n7\n\xff\xfe\n"a"\n\n"abcd"\n'
    make_job(bucket, lines, upload=True)
    assert worker(bucket, Lengths()).run(JOB, plenty) == "succeeded"
    found = results(bucket)
    assert [line.get("prediction") for line in found] == [2, None, 3, None, None, 1, None, 4]
    assert [(line["line"], line["code"]) for line in found if "error" in line] == [
        (2, "invalid_input"),
        (4, "invalid_input"),
        (5, "invalid_input"),
        (7, "invalid_input"),
    ]
    assert "line 4: expected a string, got int" in found[3]["error"]
    assert "not JSON" in found[1]["error"]
    assert "UTF-8" in found[4]["error"]
    state = bucket.load(JOB)
    assert state is not None
    assert state.error_count == 4
    assert [e.line for e in state.errors] == [2, 4, 5, 7]


def test_a_refused_chunk_runs_again_by_batch_and_only_the_refused_batch_one_at_a_time(
    bucket: JobBucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other lines keep the batches a synchronous call would run (a batched model's numbers can differ in the
    last digits with the batch's shape), and a chunk with one bad line costs a batch of single calls, not a chunk."""
    monkeypatch.setattr(worker_module, "CHUNK_LINES", 8)
    make_job(bucket, b'"a"\n"bb"\n"ccc"\n"dddd"\n"e"\n9\n"g"\n"hh"\n')
    predictor = Lengths(batch_size=2)
    assert worker(bucket, predictor).run(JOB, plenty) == "succeeded"
    assert [line.get("prediction") for line in results(bucket)] == [1, 2, 3, 4, 1, None, 1, 2]
    assert predictor.calls == [
        ["a", "bb", "ccc", "dddd", "e", 9, "g", "hh"],
        ["a", "bb"],
        ["ccc", "dddd"],
        ["e", 9],
        ["e"],
        [9],
        ["g", "hh"],
    ]


def test_errors_listed_in_the_status_are_capped(bucket: JobBucket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract, "MAX_LISTED_ERRORS", 3)
    make_job(bucket, b"1\n" * 10 + b'"ok"\n' * 30, upload=True)
    assert worker(bucket, Lengths()).run(JOB, plenty) == "succeeded"
    state = bucket.load(JOB)
    assert state is not None
    assert state.error_count == 10
    assert len(state.errors) == 3


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        (b"\x1f\x8b\x08\x00binary\x00\x01\n\x02\x03", "not JSON Lines"),
        (b'{\n  "a": 1,\n  "b": 2\n}\n', "not JSON Lines"),
    ],
)
def test_an_upload_that_is_not_json_lines_fails_the_job(bucket: JobBucket, lines: bytes, words: str) -> None:
    make_job(bucket, lines, upload=True)
    assert worker(bucket, Lengths()).run(JOB, plenty) == "failed"
    state = bucket.load(JOB)
    assert state is not None
    assert state.error is not None
    assert words in state.error["message"]


def test_an_upload_over_the_limit_fails_the_job(bucket: JobBucket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract, "MAX_UPLOAD_BYTES", 10)
    make_job(bucket, texts(5), upload=True)
    assert worker(bucket, Lengths()).run(JOB, plenty) == "failed"
    state = bucket.load(JOB)
    assert state is not None
    assert state.error == {
        "code": "payload_too_large",
        "message": f"the upload is {len(texts(5))} bytes; a job's input is at most 10",
    }


def test_an_upload_with_too_many_lines_fails_the_job(bucket: JobBucket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract, "MAX_LINES", 3)
    make_job(bucket, texts(4), upload=True)
    assert worker(bucket, Lengths()).run(JOB, plenty) == "failed"


def test_a_missing_upload_waits_then_fails_once_the_url_expired(bucket: JobBucket) -> None:
    make_job(bucket, b"", upload=True)
    continuations = Continuations()
    assert worker(bucket, Lengths(), continuations).run(JOB, plenty) == "waiting-for-upload"
    assert continuations == [(JOB, 1)]
    make_job(bucket, b"", upload=True, expires_in_s=-1)
    assert worker(bucket, Lengths()).run(JOB, plenty) == "failed"
    state = bucket.load(JOB)
    assert state is not None
    assert state.error is not None
    assert state.error["code"] == "upload_missing"


@pytest.mark.parametrize("crash_in", ["predict", "checkpoint"])
def test_a_killed_worker_resumes_without_lost_or_duplicated_lines(
    bucket: JobBucket, monkeypatch: pytest.MonkeyPatch, crash_in: str
) -> None:
    monkeypatch.setattr(worker_module, "CHUNK_LINES", 4)
    make_job(bucket, texts(23))
    if crash_in == "predict":
        with pytest.raises(Crash):
            worker(bucket, Lengths(crash_after=8)).run(JOB, plenty)
    else:
        saves = {"count": 0}
        original = JobBucket.save

        def save_then_crash(self: JobBucket, state: JobState) -> None:
            saves["count"] += 1
            if saves["count"] == 4:  # running, chunk 0, chunk 1, then chunk 2's part is written but not counted
                raise Crash
            original(self, state)

        monkeypatch.setattr(JobBucket, "save", save_then_crash)
        with pytest.raises(Crash):
            worker(bucket, Lengths()).run(JOB, plenty)
        monkeypatch.setattr(JobBucket, "save", original)
        assert bucket.exists(contract.part_key(JOB, 2))
    state = bucket.load(JOB)
    assert state is not None
    assert state.status is JobStatus.RUNNING
    assert state.done == 8
    again = Lengths()
    assert worker(bucket, again).run(JOB, plenty) == "succeeded"
    assert sum(len(call) for call in again.calls) == 23 - 8  # resumed at the checkpoint, not from the start
    assert results(bucket) == [{"prediction": index % 7 + 1} for index in range(23)]


def test_near_the_timeout_it_checkpoints_and_continues_in_a_new_message(
    bucket: JobBucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker_module, "CHUNK_LINES", 4)
    make_job(bucket, texts(10))
    continuations = Continuations()
    assert worker(bucket, Lengths(), continuations).run(JOB, lambda: 1000) == "continued"
    assert continuations == [(JOB, 0)]
    state = bucket.load(JOB)
    assert state is not None
    assert state.done == 4
    assert state.invocations == 1
    assert worker(bucket, Lengths()).run(JOB, plenty) == "succeeded"
    assert len(results(bucket)) == 10


def test_cancel_stops_the_job_at_its_next_chunk(bucket: JobBucket) -> None:
    make_job(bucket, texts(3))
    bucket.put(contract.cancel_key(JOB), b"now", "text/plain")
    assert worker(bucket, Lengths()).run(JOB, plenty) == "cancelled"
    state = bucket.load(JOB)
    assert state is not None
    assert state.status is JobStatus.CANCELLED
    assert not bucket.exists(contract.results_key(JOB))


def test_a_model_that_cannot_load_now_hands_the_message_back(bucket: JobBucket) -> None:
    class Unavailable(Lengths):
        def predict(self, instances: Sequence[Any]) -> list[Any]:
            raise ModelUnavailableError("not now")

    make_job(bucket, texts(3))
    with pytest.raises(ModelUnavailableError):
        worker(bucket, Unavailable()).run(JOB, plenty)


def test_a_worker_behind_another_on_the_same_job_stops(bucket: JobBucket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker_module, "CHUNK_LINES", 4)
    make_job(bucket, texts(12))

    class Overtaken(Lengths):
        def predict(self, instances: Sequence[Any]) -> list[Any]:
            state = bucket.load(JOB)  # a duplicate delivery's worker checkpoints chunk 2 meanwhile
            assert state is not None
            if state.chunk == 1:
                state.chunk, state.done = 2, 8
                bucket.save(state)
            return super().predict(instances)

    assert worker(bucket, Overtaken()).run(JOB, plenty) == "superseded"


def test_a_finished_job_is_left_alone(bucket: JobBucket) -> None:
    make_job(bucket, texts(3))
    assert worker(bucket, Lengths()).run(JOB, plenty) == "succeeded"
    again = Lengths()
    assert worker(bucket, again).run(JOB, plenty) == "succeeded"
    assert again.calls == []


def test_large_results_are_assembled_by_multipart_upload(bucket: JobBucket, monkeypatch: pytest.MonkeyPatch) -> None:
    import moto.s3.models

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", 16)
    monkeypatch.setattr(worker_module, "MULTIPART_BYTES", 40)
    monkeypatch.setattr(worker_module, "CHUNK_LINES", 2)
    make_job(bucket, texts(25))
    assert worker(bucket, Lengths()).run(JOB, plenty) == "succeeded"
    assert results(bucket) == [{"prediction": index % 7 + 1} for index in range(25)]


def test_job_message_reads_job_messages_and_refuses_others() -> None:
    assert job_message(json.dumps({"job_id": JOB, "model": MODEL})) == {"job_id": JOB, "model": MODEL}
    with pytest.raises(ValueError, match="not a job message"):
        job_message(json.dumps({"job_id": "../x"}))


def test_the_handler_reports_a_failed_message_as_a_batch_item_failure(
    bucket: JobBucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelrail.jobs import runtime

    make_job(bucket, texts(3))
    good = worker(bucket, Lengths())
    monkeypatch.setattr(runtime, "worker_from_env", lambda: good)
    event = {
        "Records": [
            {"messageId": "m-good", "body": json.dumps({"job_id": JOB, "model": MODEL})},
            {"messageId": "m-bad", "body": "not json"},
        ]
    }
    assert runtime.handle_sqs_event(event, None) == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}
    state = bucket.load(JOB)
    assert state is not None
    assert state.status is JobStatus.SUCCEEDED
