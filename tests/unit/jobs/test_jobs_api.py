"""The jobs API against moto: submit (inline and upload), status, cancel, owners, limits and their 4xx answers."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from modelrail.contract import jobs as contract
from modelrail.errors import ModelrailError
from modelrail.jobs import api as jobs_api
from modelrail.jobs.api import JobsApi
from modelrail.jobs.state import JobBucket
from tests.unit.jobs.conftest import BUCKET, MODEL, answer_json, event, messages


def submit(api: JobsApi, body: Any, **kwargs: Any) -> dict[str, Any]:
    response = api.answer(event("POST", f"/v1/models/{MODEL}/jobs", body, **kwargs))
    assert response["statusCode"] == 202, response
    return dict(answer_json(response))


def error_of(api: JobsApi, evt: dict[str, Any]) -> ModelrailError:
    with pytest.raises(ModelrailError) as caught:
        api.answer(evt)
    return caught.value


def test_inline_submit_writes_the_input_and_queues_one_message(api: JobsApi, bucket: JobBucket, queue: str) -> None:
    answer = submit(api, {"instances": ["a", {"b": 1}, "ü"]})
    job_id = answer["job_id"]
    assert contract.JOB_ID.fullmatch(job_id)
    assert answer["status"] == "queued"
    assert "upload" not in answer
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=contract.input_key(job_id))["Body"].read()
    assert body.decode().splitlines() == ['"a"', '{"b":1}', '"ü"']
    assert messages(queue) == [{"job_id": job_id, "model": MODEL}]
    status = answer_json(api.answer(event("GET", f"/v1/jobs/{job_id}")))
    assert status["status"] == "queued"
    assert status["counts"] == {"done": 0, "total": 3, "errors": 0}
    assert status["created_at"].endswith("Z")
    assert status["finished_at"] is None


def test_upload_submit_returns_a_presigned_put_url_for_the_input(api: JobsApi, queue: str) -> None:
    answer = submit(api, {"upload": True})
    upload = answer["upload"]
    assert upload["method"] == "PUT"
    assert upload["max_lines"] == contract.MAX_LINES
    assert contract.input_key(answer["job_id"]) in upload["url"]
    assert "X-Amz-Signature=" in upload["url"]
    status = answer_json(api.answer(event("GET", f"/v1/jobs/{answer['job_id']}")))
    assert status["upload"]["received"] is False
    assert status["counts"]["total"] is None


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        ({"instances": []}, 400, "invalid_input", "non-empty list"),
        ({"instances": "x"}, 400, "invalid_input", "non-empty list"),
        ({"upload": False}, 400, "invalid_input", "`upload` must be true"),
        ({"upload": True, "instances": ["a"]}, 400, "invalid_input", "not both"),
        ({"inputs": []}, 400, "invalid_input", '{"instances": [...]}'),
        ([1, 2], 400, "invalid_input", '{"instances": [...]}'),
    ],
)
def test_bad_submit_bodies_are_clear_4xx(api: JobsApi, body: Any, status: int, code: str, words: str) -> None:
    error = error_of(api, event("POST", f"/v1/models/{MODEL}/jobs", body))
    assert (error.status, error.code) == (status, code)
    assert words in error.message


def test_submit_limits_lines_bytes_content_type_and_json(api: JobsApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contract, "MAX_LINES", 3)
    error = error_of(api, event("POST", f"/v1/models/{MODEL}/jobs", {"instances": ["a"] * 4}))
    assert error.status == 400
    assert "at most 3" in error.message
    monkeypatch.setattr(jobs_api, "MAX_BODY_BYTES", 10)
    error = error_of(api, event("POST", f"/v1/models/{MODEL}/jobs", {"instances": ["a" * 20]}))
    assert (error.status, error.code) == (413, "payload_too_large")
    assert '{"upload": true}' in error.message
    monkeypatch.setattr(jobs_api, "MAX_BODY_BYTES", 6 * 1024 * 1024)
    error = error_of(
        api, event("POST", f"/v1/models/{MODEL}/jobs", {"upload": True}, headers={"Content-Type": "text/csv"})
    )
    assert error.status == 415
    error = error_of(api, event("POST", f"/v1/models/{MODEL}/jobs", raw=b'{"instances": [NaN]}'))
    assert error.status == 400
    assert "NaN" in error.message


def test_a_model_that_takes_no_jobs_is_404(api: JobsApi) -> None:
    error = error_of(api, event("POST", "/v1/models/other/jobs", {"instances": ["a"]}))
    assert (error.status, error.code) == (404, "model_not_found")


def test_another_owners_job_is_404_like_a_missing_one(api: JobsApi) -> None:
    job_id = submit(api, {"instances": ["a"]}, key_id="key-a")["job_id"]
    assert api.answer(event("GET", f"/v1/jobs/{job_id}", key_id="key-a"))["statusCode"] == 200
    other = error_of(api, event("GET", f"/v1/jobs/{job_id}", key_id="key-b"))
    missing = error_of(api, event("GET", f"/v1/jobs/{'0' * 32}", key_id="key-a"))
    garbage = error_of(api, event("GET", "/v1/jobs/..%2f..%2fjob.json", key_id="key-a"))
    assert (other.status, other.code, other.message) == (missing.status, missing.code, missing.message)
    assert (garbage.status, garbage.code) == (404, "job_not_found")
    assert error_of(api, event("DELETE", f"/v1/jobs/{job_id}", key_id="key-b")).status == 404


def test_iam_callers_own_their_jobs_by_arn(api: JobsApi) -> None:
    arn = "arn:aws:iam::123456789012:user/alice"
    job_id = submit(api, {"instances": ["a"]}, key_id=None, user_arn=arn)["job_id"]
    assert api.answer(event("GET", f"/v1/jobs/{job_id}", key_id=None, user_arn=arn))["statusCode"] == 200
    bob = "arn:aws:iam::123456789012:user/bob"
    assert error_of(api, event("GET", f"/v1/jobs/{job_id}", key_id=None, user_arn=bob)).status == 404


def test_cancel_marks_an_unfinished_job_and_leaves_a_finished_one(api: JobsApi, bucket: JobBucket) -> None:
    job_id = submit(api, {"instances": ["a"]})["job_id"]
    cancelled = answer_json(api.answer(event("DELETE", f"/v1/jobs/{job_id}")))
    assert cancelled["status"] == "cancelled"
    assert bucket.cancelled(job_id)
    done_id = submit(api, {"instances": ["a"]})["job_id"]
    state = bucket.load(done_id)
    assert state is not None
    state.status = contract.JobStatus.SUCCEEDED
    bucket.save(state)
    bucket.put(contract.results_key(done_id), b'{"prediction":1}\n')
    answer = answer_json(api.answer(event("DELETE", f"/v1/jobs/{done_id}")))
    assert answer["status"] == "succeeded"
    assert not bucket.cancelled(done_id)
    assert contract.results_key(done_id) in answer["results"]["url"]


def test_a_queue_that_refuses_the_message_fails_the_job_and_answers_503(bucket: JobBucket) -> None:
    api = JobsApi(bucket, boto3.client("sqs"), {MODEL: "https://sqs.us-east-1.amazonaws.com/123456789012/missing"})
    error = error_of(api, event("POST", f"/v1/models/{MODEL}/jobs", {"instances": ["a"]}))
    assert (error.status, error.code) == (503, "model_unavailable")
    assert error.retry_after_s


def test_the_handler_answers_the_spec_error_body_and_never_raises(
    bucket: JobBucket, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelrail.jobs import handler

    monkeypatch.setenv(contract.ENV_JOB_BUCKET, BUCKET)
    monkeypatch.setenv(contract.ENV_JOB_QUEUES, json.dumps({MODEL: queue}))
    handler.api_from_env.cache_clear()
    try:
        ok = handler.handle_event(event("POST", f"/v1/models/{MODEL}/jobs", {"instances": ["a"]}), None)
        assert ok["statusCode"] == 202
        bad = handler.handle_event(event("POST", f"/v1/models/{MODEL}/jobs", {"instances": 1}), None)
        assert bad["statusCode"] == 400
        assert set(json.loads(bad["body"])) >= {"error", "code"}
    finally:
        handler.api_from_env.cache_clear()
    monkeypatch.setenv(contract.ENV_JOB_QUEUES, "not json")
    try:
        broken = handler.handle_event(event("GET", f"/v1/jobs/{'0' * 32}"), None)
        assert broken["statusCode"] == 500
        assert contract.ENV_JOB_QUEUES in json.loads(broken["body"])["error"]
    finally:
        handler.api_from_env.cache_clear()


def test_the_queue_map_holds_names_after_one_url_prefix_or_whole_urls() -> None:
    """The stack sets the URL prefix once and a queue name per model (the 4 KB environment); local mode whole URLs."""
    from modelrail.jobs.handler import read_queues

    prefix = "https://sqs.eu-west-1.amazonaws.com/123456789012/"
    environ = {
        contract.ENV_JOB_QUEUE_URL_PREFIX: prefix,
        contract.ENV_JOB_QUEUES: json.dumps({"a": "dev-jobs-a", "b": "http://127.0.0.1:5000/000000000000/b-jobs"}),
    }
    assert read_queues(environ) == {
        "a": prefix + "dev-jobs-a",
        "b": "http://127.0.0.1:5000/000000000000/b-jobs",
    }
