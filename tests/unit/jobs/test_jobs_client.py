"""The job client's choices: inline only for small files whose every line is JSON (else the upload, so the worker
reports each bad line), the progress line, and a failed job's reason."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from modelrail.jobs import client as job_client
from modelrail.jobs.client import JobError, inline_instances, progress_line, run_job, wait


def test_small_json_lines_go_inline_and_anything_else_is_uploaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text('"a"\n{"b": 1}\n')
    assert inline_instances(good) == ["a", {"b": 1}]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('"a"\n{oops\n')
    assert inline_instances(bad) is None
    monkeypatch.setattr(job_client, "INLINE_MAX_BYTES", 4)
    assert inline_instances(good) is None


def test_progress_line_shows_lines_percent_status_and_errors() -> None:
    line = progress_line({"status": "running", "counts": {"done": 256, "total": 1024, "errors": 1}})
    assert "256/1024 lines" in line
    assert " 25%" in line
    assert "running  1 error" in line
    assert "waiting for the input" in progress_line({"status": "queued", "counts": {"done": 0, "total": None}})


def test_a_failed_job_raises_its_reason(tmp_path: Path) -> None:
    source = tmp_path / "x.jsonl"
    source.write_text('"a"\n')
    answers: list[Any] = [
        {"job_id": "j" * 32, "model": "m", "status": "queued"},
        {"status": "failed", "counts": {"done": 0, "total": 1}, "error": {"code": "invalid_input", "message": "why"}},
    ]
    calls: list[tuple[str, str, Any]] = []

    def call(method: str, path: str, payload: Any = None) -> Any:
        calls.append((method, path, payload))
        return answers.pop(0)

    with pytest.raises(JobError, match="failed: why"):
        run_job(call, "m", source, tmp_path / "out.jsonl", progress=io.StringIO())
    assert calls[0] == ("POST", "v1/models/m/jobs", {"instances": ["a"]})


def test_ctrl_c_while_waiting_cancels_the_job() -> None:
    calls: list[tuple[str, str]] = []

    def call(method: str, path: str, payload: Any = None) -> Any:
        calls.append((method, path))
        return {"status": "running", "counts": {"done": 1, "total": 2}}

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        wait(call, "j" * 32, progress=io.StringIO(), sleep=interrupt)
    assert calls[-1] == ("DELETE", f"v1/jobs/{'j' * 32}")
    assert json.dumps(calls)
