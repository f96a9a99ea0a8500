"""predict's HTTP client against a real loopback server: the API key header, SigV4 for an IAM-auth stage, and the
API's JSON errors turned into one readable line."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from modelrail.predict.http import ApiClient, PredictError


class Recorder(BaseHTTPRequestHandler):
    """Answers from ``server.answers`` (path -> status, body) and keeps every request's headers and body."""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server: Any = self.server
        server.requests.append(
            {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
        )
        status, answer = server.answers.get(self.path, (404, b'{"error": "no such route", "code": "not_found"}'))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = _answer  # noqa: N815 # BaseHTTPRequestHandler's names
    do_POST = _answer  # noqa: N815


@pytest.fixture
def server() -> Iterator[Any]:
    httpd: Any = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    httpd.requests = []
    httpd.answers = {}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def base(server: Any, stage: str = "dev") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/{stage}/"


def test_paths_stay_under_the_stage_and_the_api_key_is_sent(server: Any) -> None:
    server.answers["/dev/v1/models/m/predict"] = (200, b'{"model": "m", "version": "1", "predictions": [1]}')
    client = ApiClient(base(server), api_key="k" * 20)
    answer = client.call("POST", "v1/models/m/predict", {"instances": ["x"]})
    assert answer.body["predictions"] == [1]
    (request,) = server.requests
    assert request["path"] == "/dev/v1/models/m/predict"
    assert request["headers"]["x-api-key"] == "k" * 20
    assert request["headers"]["content-type"] == "application/json"
    assert json.loads(request["body"]) == {"instances": ["x"]}


def test_an_iam_stage_gets_sigv4_for_execute_api(server: Any) -> None:
    server.answers["/dev/v2/models/m"] = (200, b'{"parameters": {"task": "tensor"}}')
    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="eu-west-1")
    ApiClient(base(server), sign_with=session).call("GET", "v2/models/m")
    headers = server.requests[0]["headers"]
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in headers["authorization"]
    assert "x-amz-date" in headers
    assert "x-api-key" not in headers


def test_the_apis_json_error_becomes_one_line_with_status_code_and_request_id(server: Any) -> None:
    body = {"error": "instance 0: expected a string, got int", "code": "invalid_input", "request_id": "r-1"}
    server.answers["/dev/v1/models/m/predict"] = (400, json.dumps(body).encode())
    with pytest.raises(PredictError) as caught:
        ApiClient(base(server)).call("POST", "v1/models/m/predict", {"instances": [42]})
    assert caught.value.status == 400
    assert str(caught.value).endswith(
        "/dev/v1/models/m/predict: HTTP 400 invalid_input: instance 0: expected a string, got int (request id r-1)"
    )


def test_a_non_json_error_is_shown_as_text(server: Any) -> None:
    server.answers["/dev/v2"] = (502, b"Bad Gateway")
    with pytest.raises(PredictError, match=r"HTTP 502: Bad Gateway"):
        ApiClient(base(server)).call("GET", "v2")


def test_only_http_urls_are_accepted() -> None:
    with pytest.raises(PredictError, match=r"not an http\(s\) URL"):
        ApiClient("file:///etc/passwd")


@pytest.mark.parametrize("command", [["job", "m", "{file}"], ["predict", "m", "--job", "{file}"]])
def test_modelrail_job_and_predict_job_run_the_same_job_over_the_same_client(
    server: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    from modelrail.cli import main

    job_id = "a" * 32
    server.answers["/dev/v1/models/m/jobs"] = (202, json.dumps({"job_id": job_id, "status": "queued"}).encode())
    status = {
        "status": "succeeded",
        "counts": {"done": 2, "total": 2, "errors": 0},
        "results": {"url": base(server) + "results.jsonl"},
    }
    server.answers[f"/dev/v1/jobs/{job_id}"] = (200, json.dumps(status).encode())
    server.answers["/dev/results.jsonl"] = (200, b'{"prediction":1}\n{"prediction":2}\n')
    source = tmp_path / "texts.jsonl"
    source.write_text('"a"\n"bb"\n')
    argv = [part.format(file=source) for part in command]
    assert main([*argv, "--url", base(server), "--api-key", "k" * 20, "--poll-s", "0"]) == 0
    assert (tmp_path / "texts.results.jsonl").read_bytes() == b'{"prediction":1}\n{"prediction":2}\n'
    submit = server.requests[0]
    assert (submit["method"], submit["path"]) == ("POST", "/dev/v1/models/m/jobs")
    assert json.loads(submit["body"]) == {"instances": ["a", "bb"]}
    assert submit["headers"]["x-api-key"] == "k" * 20
    prog = "modelrail job" if command[0] == "job" else "modelrail predict"
    assert f"{prog}: 2 result lines (0 errors) saved to" in capsys.readouterr().err
    missing = [part.format(file=tmp_path / "missing.jsonl") for part in command]
    assert main([*missing, "--url", base(server)]) == 1
    assert f"{prog}: {tmp_path / 'missing.jsonl'} is not a file" in capsys.readouterr().err
