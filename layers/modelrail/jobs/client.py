"""Run a JSON Lines file as a job: submit (inline when small, else upload to the presigned URL), show progress,
download the results. Standard library only; the HTTP call to the API is passed in, so local mode, an API key
or a SigV4-signed stage all work the same way.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from modelrail.contract import jobs as contract

INLINE_MAX_BYTES = 4 * 1024 * 1024
"""Files up to this size whose every line is JSON go inline (the API takes 6 MB); others are uploaded."""
BAR_WIDTH = 30
UPLOAD_HEADERS = {"Content-Type": "application/octet-stream"}
"""urllib would send ``application/x-www-form-urlencoded``, which local mode's moto server stores as an empty
object (it parses the body as a form); S3 keeps the bytes whatever the type, and the presigned URL signs none."""

Call = Callable[[str, str, Any], Any]
"""``(method, path under the API's base URL, JSON payload or None) -> the JSON answer``; raises ``JobError`` on
a non-2xx answer with the API's message."""


class JobError(Exception):
    """The job could not be run, failed, or was cancelled; the message says which and why."""


def inline_instances(path: Path) -> list[Any] | None:
    """The file's instances when it is small and every line is JSON; ``None`` means upload it as it is (the
    worker then reports each malformed line on its own, as the results' error lines)."""
    if path.stat().st_size > INLINE_MAX_BYTES:
        return None
    instances = []
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            instances.append(json.loads(line))
    except (UnicodeDecodeError, ValueError):
        return None
    return instances if 0 < len(instances) <= contract.MAX_LINES else None


def put_file(url: str, path: Path, *, timeout_s: float = 600.0) -> None:
    """PUT the file to a presigned URL (what ``curl -T FILE URL`` does)."""
    size = path.stat().st_size
    with path.open("rb") as data:
        headers = UPLOAD_HEADERS | {"Content-Length": str(size)}
        request = urllib.request.Request(url, data=data, method="PUT", headers=headers)  # noqa: S310 # https URL
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:  # nosec B310 # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            raise JobError(f"uploading {path.name} failed: HTTP {exc.code}: {exc.read()[:300]!r}") from None


def submit(call: Call, model: str, path: Path) -> dict[str, Any]:
    """Submit the file as a job of ``model``; returns the 202 answer (``job_id``)."""
    instances = inline_instances(path)
    if instances is not None:
        return dict(call("POST", f"v1/models/{model}/jobs", {"instances": instances}))
    answer = dict(call("POST", f"v1/models/{model}/jobs", {"upload": True}))
    put_file(answer["upload"]["url"], path)
    return answer


def progress_line(status: dict[str, Any]) -> str:
    """``[#####.....]  512/600 lines  85%  running  1 error``."""
    counts = status.get("counts") or {}
    done, total, errors = int(counts.get("done") or 0), counts.get("total"), int(counts.get("errors") or 0)
    if not total:
        return f"[{'.' * BAR_WIDTH}]  waiting for the input  {status.get('status')}"
    filled = BAR_WIDTH * done // int(total)
    tail = f"  {errors} error{'s' if errors != 1 else ''}" if errors else ""
    return (
        f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}]  {done}/{total} lines  {100 * done // int(total):3d}%"
        f"  {status.get('status')}{tail}"
    )


def wait(
    call: Call,
    job_id: str,
    *,
    poll_s: float = 1.0,
    progress: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Poll until the job is finished; Ctrl-C cancels it (``DELETE``) before it returns."""
    out = progress if progress is not None else sys.stderr
    terminal = {status.value for status in contract.TERMINAL}
    try:
        while True:
            status = dict(call("GET", f"v1/jobs/{job_id}", None))
            print(f"\r{progress_line(status)}", end="", file=out, flush=True)
            if status["status"] in terminal:
                print(file=out, flush=True)
                return status
            sleep(poll_s)
    except KeyboardInterrupt:
        print(f"\ninterrupted: cancelling job {job_id}", file=out, flush=True)
        call("DELETE", f"v1/jobs/{job_id}", None)
        raise


def download(url: str, output: Path, *, timeout_s: float = 600.0) -> None:
    """Save the results (a presigned GET URL) to ``output``."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response, output.open("wb") as sink:  # nosec B310 # noqa: S310
        shutil.copyfileobj(response, sink)


def run_job(
    call: Call, model: str, path: Path, output: Path, *, poll_s: float = 1.0, progress: TextIO | None = None
) -> dict[str, Any]:
    """Submit, wait, download; returns the final status. A failed or cancelled job raises ``JobError``."""
    answer = submit(call, model, path)
    out = progress if progress is not None else sys.stderr
    print(f"job {answer['job_id']} submitted ({'inline' if 'upload' not in answer else 'uploaded'})", file=out)
    status = wait(call, answer["job_id"], poll_s=poll_s, progress=out)
    if status["status"] != contract.JobStatus.SUCCEEDED:
        error = status.get("error") or {}
        raise JobError(f"job {answer['job_id']} {status['status']}: {error.get('message', 'no reason given')}")
    download(status["results"]["url"], output)
    return status
