"""Jobs throughput and recovery (issue 15): 10,000 sentences through a local minilm job, against ``session.run``
over the same texts at the same batch size in this process, and the same job with its worker killed halfway.
``--model minilm-gpu``: the same through a GPU model's job (its worker sends each batch to the model's container
through local InvokeEndpoint; the container runs on the CPU provider here).

1. baseline: the built model, loaded as its worker (CPU) or container (GPU) loads it (same settings, so the same
   threads), and for each
   batch of ``serving.max_batch_size`` texts: tokenize + ``session.run`` (same-token-count texts together, as the
   text processor batches them); texts per second.
2. job: ``modelrail local up minilm`` started as a user starts it; a one-line job warms the worker (its model
   loads on its first job); then the 10,000 lines are uploaded to the job's presigned URL and polled until done.
   Texts per second from submit to succeeded (end to end), and from the job's started_at to finished_at (worker).
3. checks: results.jsonl has 10,000 lines, in order, each equal to the synchronous answer
   (``POST /v1/models/<model>/predict`` over the same texts, 256 per request).
4. kill -9: the same 10,000 lines again, the worker's runtime process killed with SIGKILL once half the lines are
   done; the job must still succeed with exactly 10,000 lines, no line twice, each equal to the first job's.

    .venv/bin/python bench/jobs_throughput.py [--model minilm|minilm-gpu] [--lines 10000] [--job-timeout-s 60]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "layers"))

from modelrail.local.up import READY_PREFIX  # noqa: E402

KEY = "bench-key"
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "near",
    "the",
    "river",
    "while",
    "trains",
    "leave",
    "platform",
    "nine",
    "for",
    "berlin",
    "paris",
    "lisbon",
    "and",
    "every",
    "passenger",
    "reads",
    "a",
    "newspaper",
    "about",
    "markets",
    "weather",
    "football",
    "science",
    "and",
    "music",
]


def sentences(count: int) -> list[str]:
    """Deterministic sentences of 4 to 40 words."""
    found = []
    for index in range(count):
        length = 4 + (index * 7) % 37
        found.append(" ".join(WORDS[(index * 13 + k * 5) % len(WORDS)] for k in range(length)) + f" ({index})")
    return found


def baseline(texts: list[str], model_name: str) -> tuple[float, int]:
    """Texts per second through tokenize + session.run at the model's batch size, and that batch size."""
    from modelrail.loader import ModelLoader
    from modelrail.metrics import MetricsEmitter
    from modelrail.settings import Settings

    directory = ROOT / "build" / "models" / model_name / "1"
    # A CPU model's worker: its memory_mb (as in local mode) sets the threads; a GPU model's container: no Lambda.
    memory = None if model_name.endswith("-gpu") else 2048
    settings = Settings(model_dir=str(directory), lambda_memory_mb=memory)
    model = ModelLoader(settings, MetricsEmitter(namespace="bench", model=model_name)).get()
    session, encoder = model.session, model.processor.encoder  # type: ignore[attr-defined]
    batch = session.max_batch_size
    output = session.outputs[0].name
    for text in texts[:50]:
        session.run(encoder.encode([text]), [output])  # warm-up
    started = time.perf_counter()
    for start in range(0, len(texts), batch):  # as the processor runs a request: same-length texts together
        for _, feeds in encoder.batches(texts[start : start + batch], batch):
            session.run(feeds, [output])
    return len(texts) / (time.perf_counter() - started), batch


def start_local(log: Path, job_timeout_s: float, model: str) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'layers'}:{ROOT}", "MODELRAIL_LOCAL_JOB_TIMEOUT_S": str(job_timeout_s)}
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "modelrail.cli", "local", "up", model, "--port", "0", "--api-key", KEY],
            cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip
    pattern = re.compile(re.escape(READY_PREFIX) + r" (http://127\.0\.0\.1:\d+)")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        found = pattern.search(log.read_text(errors="replace"))
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            raise SystemExit(f"local up exited:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    raise SystemExit("local up did not start")


def stop_local(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C, as a user stops it; SIGKILL to the whole group if it has not stopped within a minute."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def put(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(request, timeout=120) as response:  # loopback
        response.read()


def submit_upload(client: httpx.Client, body: bytes, model: str) -> str:
    answer = client.post(f"/v1/models/{model}/jobs", json={"upload": True}).json()
    put(answer["upload"]["url"], body)
    return str(answer["job_id"])


def poll(
    client: httpx.Client, job_id: str, *, until_done: int | None = None, every_s: float = 0.5, timeout_s: float = 1800
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = client.get(f"/v1/jobs/{job_id}").json()
        if status["status"] in {"succeeded", "failed", "cancelled"}:
            return dict(status)
        if until_done is not None and status["counts"]["done"] >= until_done:
            return dict(status)
        time.sleep(every_s)
    raise SystemExit(f"job {job_id} timed out")


def results(status: dict[str, Any]) -> list[bytes]:
    with urllib.request.urlopen(status["results"]["url"], timeout=120) as response:  # loopback
        return response.read().splitlines()


def seconds(status: dict[str, Any], start: str, end: str) -> float:
    def parse(value: str) -> float:
        import calendar

        whole, _, millis = value.rstrip("Z").partition(".")
        return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + int(millis or 0) / 1000

    return parse(status[end]) - parse(status[start])


def sync_predictions(client: httpx.Client, model: str, texts: list[str], size: int) -> list[Any]:
    """``POST /v1/models/<model>/predict`` over the texts, ``size`` per request."""
    found: list[Any] = []
    for start in range(0, len(texts), size):
        answer = client.post(f"/v1/models/{model}/predict", json={"instances": texts[start : start + size]})
        found += answer.json()["predictions"]
    return found


def largest_difference(found: list[Any], expected: list[Any]) -> float:
    """The largest absolute difference between two lists of equal-shaped numeric predictions."""
    import numpy as np

    return float(np.max(np.abs(np.asarray(found, dtype=np.float64) - np.asarray(expected, dtype=np.float64))))


def worker_pid(model: str) -> int:
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"modelrail.local.lambda_runtime" in argv and f"{model}-jobs".encode() in argv:
            return int(cmdline.parent.name)
    raise SystemExit(f"no {model}-jobs process")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["minilm", "minilm-gpu"], default="minilm")
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--job-timeout-s", type=float, default=60.0)
    args = parser.parse_args()
    texts = sentences(args.lines)
    body = "".join(json.dumps(text) + "\n" for text in texts).encode()

    model = args.model
    base_rate, batch = baseline(texts, model)
    print(f"baseline: session.run at batch size {batch}: {base_rate:.0f} texts/s ({len(texts)} texts)", flush=True)

    log = Path(tempfile.mkdtemp(prefix="bench-jobs-")) / "local-up.log"
    process, url = start_local(log, args.job_timeout_s, model)
    try:
        with httpx.Client(base_url=url, headers={"x-api-key": KEY}, timeout=120) as client:
            warm = client.post(f"/v1/models/{model}/jobs", json={"instances": ["warm up"]}).json()["job_id"]
            assert poll(client, warm)["status"] == "succeeded"

            started = time.perf_counter()
            job = submit_upload(client, body, model)
            status = poll(client, job)
            end_to_end = time.perf_counter() - started
            assert status["status"] == "succeeded", status
            worker_s = seconds(status, "started_at", "finished_at")
            lines = results(status)
            print(
                f"job: {len(lines)} result lines; end to end {len(texts) / end_to_end:.0f} texts/s "
                f"({end_to_end:.1f} s, {len(texts) / end_to_end / base_rate:.2f}x baseline); worker "
                f"{len(texts) / worker_s:.0f} texts/s ({worker_s:.1f} s, {len(texts) / worker_s / base_rate:.2f}x); "
                f"worker invocations {status.get('invocations')}",
                flush=True,
            )

            # The worker sends `batch` instances per call (a CPU model's worker: one chunk through its processor,
            # which runs `batch` at a time); the synchronous calls here send the same groups. A batched model's
            # numbers can differ in the last digits with the request's grouping, so 256-text requests are
            # compared too, by their largest difference.
            predictions = [json.loads(line)["prediction"] for line in lines]
            for size in dict.fromkeys([batch, 256]):
                expected = sync_predictions(client, model, texts, size)
                same = sum(found == want for found, want in zip(predictions, expected, strict=False))
                print(
                    f"check: {len(lines)} lines for {len(texts)} inputs; {same} equal to the synchronous answer in "
                    f"requests of {size}; largest difference {largest_difference(predictions, expected):.1e}",
                    flush=True,
                )

            job2 = submit_upload(client, body, model)
            half = poll(client, job2, until_done=len(texts) // 2, every_s=0.1)
            pid = worker_pid(model)
            os.kill(pid, signal.SIGKILL)
            killed_at = time.perf_counter()
            print(f"kill -9: worker pid {pid} killed at {half['counts']['done']}/{len(texts)} lines", flush=True)
            final = poll(client, job2)
            lines2 = results(final)
            print(
                f"kill -9: job {final['status']} {time.perf_counter() - killed_at:.1f} s after the kill; "
                f"{len(lines2)} lines, {len(set(lines2))} distinct, identical to the first job's: {lines2 == lines}; "
                f"worker invocations {final.get('invocations')}",
                flush=True,
            )
    finally:
        stop_local(process)
    return 0


if __name__ == "__main__":
    sys.exit(main())
