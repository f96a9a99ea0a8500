"""Jobs in local mode over real loopback HTTP: inline and uploaded jobs (a PUT to the presigned URL, as curl does)
give one result line per input line, in order, each the synchronous answer; a malformed line fails only itself;
cancel; another API key's job is 404; a worker killed with SIGKILL halfway still gives exactly N lines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import JOB_TIMEOUT_S, OTHER_API_KEY, ROOT, LocalStack

pytestmark = pytest.mark.e2e

MODEL = "minilm"
WORKER = f"{MODEL}-jobs"
GPU_MODEL = "minilm-gpu"


def texts(count: int) -> list[str]:
    return [
        f"sentence number {index}: trains leave platform {index % 17} at {index % 24}:{index % 60:02d}"
        for index in range(count)
    ]


def sync_predictions(client: httpx.Client, instances: list[Any], *, model: str = MODEL) -> list[Any]:
    found: list[Any] = []
    for start in range(0, len(instances), 64):
        answer = client.post(f"/v1/models/{model}/predict", json={"instances": instances[start : start + 64]})
        assert answer.status_code == 200, answer.text
        found += answer.json()["predictions"]
    return found


def wait_for(client: httpx.Client, job_id: str, *, timeout_s: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = client.get(f"/v1/jobs/{job_id}").json()
        if status["status"] in {"succeeded", "failed", "cancelled"}:
            return dict(status)
        time.sleep(0.3)
    pytest.fail(f"job {job_id} did not finish within {timeout_s} s")


def results(status: dict[str, Any]) -> list[Any]:
    with urllib.request.urlopen(status["results"]["url"], timeout=60) as response:  # loopback URL from the API
        return [json.loads(line) for line in response.read().decode().splitlines()]


def upload(client: httpx.Client, body: bytes) -> str:
    answer = client.post(f"/v1/models/{MODEL}/jobs", json={"upload": True})
    assert answer.status_code == 202, answer.text
    # An explicit Content-Type: urllib would send application/x-www-form-urlencoded, which moto's server (werkzeug)
    # reads as a form and stores as an empty object; S3 itself stores the bytes whatever the type.
    headers = {"Content-Type": "application/octet-stream"}
    request = urllib.request.Request(answer.json()["upload"]["url"], data=body, method="PUT", headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:  # the embedded S3 on loopback
        assert response.status == 200
    return str(answer.json()["job_id"])


def test_an_inline_job_answers_each_line_as_the_synchronous_api_does(local_stack: LocalStack) -> None:
    instances = texts(40)
    with local_stack.client() as client:
        answer = client.post(f"/v1/models/{MODEL}/jobs", json={"instances": instances})
        assert answer.status_code == 202, answer.text
        status = wait_for(client, answer.json()["job_id"])
        assert status["status"] == "succeeded", status.get("error")
        assert status["counts"] == {"done": 40, "total": 40, "errors": 0}
        assert [line["prediction"] for line in results(status)] == sync_predictions(client, instances)


def test_an_uploaded_job_with_malformed_lines_fails_only_those_lines(local_stack: LocalStack) -> None:
    instances = texts(300)
    lines = [json.dumps(text).encode() for text in instances]
    lines[10] = b'{"not": "closed"'
    lines[200] = b"42"
    with local_stack.client() as client:
        status = wait_for(client, upload(client, b"\n".join(lines) + b"\n"))
        assert status["status"] == "succeeded", status.get("error")
        assert status["counts"] == {"done": 300, "total": 300, "errors": 2}
        assert [(error["line"], error["code"]) for error in status["errors"]] == [
            (11, "invalid_input"),
            (201, "invalid_input"),
        ]
        found = results(status)
        assert len(found) == 300
        assert found[10]["line"] == 11
        assert "not JSON" in found[10]["error"]
        assert found[200] == {"line": 201, "error": "line 201: expected a string, got int", "code": "invalid_input"}
        good = [index for index in range(300) if index not in {10, 200}]
        expected = sync_predictions(client, [instances[index] for index in good])
        assert [found[index]["prediction"] for index in good] == expected


def test_an_upload_that_is_not_json_lines_fails_the_job_with_a_clear_error(local_stack: LocalStack) -> None:
    with local_stack.client() as client:
        status = wait_for(client, upload(client, bytes(range(256)) * 64))
    assert status["status"] == "failed"
    assert "not JSON Lines" in status["error"]["message"]


def test_cancel_and_another_keys_view(local_stack: LocalStack) -> None:
    with local_stack.client() as client, local_stack.client(key=OTHER_API_KEY) as other:
        answer = client.post(f"/v1/models/{MODEL}/jobs", json={"upload": True})
        job_id = answer.json()["job_id"]
        for method in ("GET", "DELETE"):
            refused = other.request(method, f"/v1/jobs/{job_id}")
            assert refused.status_code == 404
            assert refused.json()["code"] == "job_not_found"
        assert other.get(f"/v1/jobs/{'0' * 32}").json()["error"] == refused.json()["error"]
        cancelled = client.delete(f"/v1/jobs/{job_id}")
        assert cancelled.status_code == 200
        assert cancelled.json()["status"] == "cancelled"
        assert wait_for(client, job_id)["status"] == "cancelled"


def test_bad_submissions_are_clear_4xx_errors(local_stack: LocalStack) -> None:
    with local_stack.client() as client:
        empty = client.post(f"/v1/models/{MODEL}/jobs", json={"instances": []})
        assert empty.status_code == 400
        assert empty.json()["code"] == "invalid_input"
        unknown = client.post("/v1/models/no-such-model/jobs", json={"instances": ["a"]})
        assert unknown.status_code == 404


def test_a_gpu_models_job_runs_through_its_endpoint_as_its_route_answers(local_stack: LocalStack) -> None:
    """The GPU model's worker sends batches to its container through local InvokeEndpoint, as the stack's worker
    calls the model's SageMaker endpoint; a line the container refuses (its 400, as a ModelError) fails alone.

    The good lines are batched as the synchronous calls batch them (the container runs 8 per session call, the
    worker sends 8 per InvokeEndpoint), so every prediction must be equal, not close."""
    instances: list[Any] = [*texts(48), 42]
    with local_stack.client() as client:
        answer = client.post(f"/v1/models/{GPU_MODEL}/jobs", json={"instances": instances})
        assert answer.status_code == 202, answer.text
        status = wait_for(client, answer.json()["job_id"])
        assert status["status"] == "succeeded", status.get("error")
        assert status["counts"] == {"done": 49, "total": 49, "errors": 1}
        found = results(status)
        assert len(found) == 49
        assert found[48]["line"] == 49
        assert found[48]["code"] == "invalid_input"
        assert "expected a string" in found[48]["error"]
        expected = sync_predictions(client, instances[:48], model=GPU_MODEL)
        assert [line["prediction"] for line in found[:48]] == expected
    assert f"[{GPU_MODEL}-jobs]" in local_stack.log.read_text()  # its own worker handled it


def _worker_pid(stack: LocalStack) -> int:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"modelrail.local.lambda_runtime" in argv and WORKER.encode() in argv:
            return int(cmdline.parent.name)
    pytest.fail(f"no {WORKER} process under local mode (pid {stack.pid})")


@pytest.mark.slow
def test_a_worker_killed_halfway_resumes_and_gives_exactly_n_lines(local_stack: LocalStack) -> None:
    count = 3000
    instances = texts(count)
    body = "".join(json.dumps(text) + "\n" for text in instances).encode()
    with local_stack.client() as client:
        job_id = upload(client, body)
        deadline = time.monotonic() + 300
        while (done := client.get(f"/v1/jobs/{job_id}").json()["counts"]["done"]) < count // 2:
            assert time.monotonic() < deadline, "the job did not get halfway"
            time.sleep(0.1)
        os.kill(_worker_pid(local_stack), signal.SIGKILL)
        status = wait_for(client, job_id, timeout_s=300 + JOB_TIMEOUT_S)
        assert status["status"] == "succeeded", status.get("error")
        assert done < count
        assert status["counts"] == {"done": count, "total": count, "errors": 0}
        found = results(status)
        assert len(found) == count
        sample = sorted({0, count // 2 - 1, count // 2, done - 1, done, count - 1} | set(range(0, count, 97)))
        expected = sync_predictions(client, [instances[index] for index in sample])
        assert [found[index]["prediction"] for index in sample] == expected
        assert len({json.dumps(line) for line in found}) == count  # no line twice


def test_modelrail_job_submits_shows_progress_and_downloads(local_stack: LocalStack, tmp_path: Path) -> None:
    instances = texts(30)
    source = tmp_path / "texts.jsonl"
    source.write_text("".join(json.dumps(text) + "\n" for text in instances))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelrail.cli",
            "job",
            MODEL,
            str(source),
            "--url",
            local_stack.url,
            "--api-key",
            local_stack.api_key,
            "--poll-s",
            "0.2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "30/30 lines" in run.stderr
    saved = [json.loads(line) for line in (tmp_path / "texts.results.jsonl").read_text().splitlines()]
    with local_stack.client() as client:
        assert [line["prediction"] for line in saved] == sync_predictions(client, instances)
