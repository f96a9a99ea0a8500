"""What local mode's InvokeEndpoint adds to a call of a GPU model's container, against the gateway's route to the
same container, in the same run: ``modelrail local up minilm-gpu``, then rounds of 50 batches of 8 texts through
``POST /v1/models/minilm-gpu/predict`` (the gateway) and through boto3's ``invoke_endpoint`` on the local SageMaker
Runtime (what a GPU model's job worker calls), interleaved; milliseconds per call.

    .venv/bin/python bench/local_invoke_endpoint.py [--rounds 2] [--batches 50]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from jobs_throughput import KEY, sentences, start_local, stop_local  # noqa: E402

MODEL = "minilm-gpu"
RUNTIME_LINE = re.compile(r"InvokeEndpoint\) for the GPU models' job workers on (http://127\.0\.0\.1:\d+)")


def runtime_url(log: Path) -> str:
    """The local SageMaker Runtime's URL, from ``local up``'s start-up lines."""
    found = RUNTIME_LINE.search(log.read_text(errors="replace"))
    if found is None:
        raise SystemExit(f"local up named no SageMaker Runtime:\n{log.read_text()[-3000:]}")
    return found.group(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batches", type=int, default=50)
    args = parser.parse_args()
    texts = sentences(8 * args.batches)
    batches = [texts[start : start + 8] for start in range(0, len(texts), 8)]
    log = Path(tempfile.mkdtemp(prefix="bench-invoke-")) / "local-up.log"
    process, url = start_local(log, 60.0, MODEL)
    try:
        gateway = httpx.Client(base_url=url, headers={"x-api-key": KEY}, timeout=60)
        runtime = boto3.client(
            "sagemaker-runtime",
            endpoint_url=runtime_url(log),
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

        def through_gateway(batch: list[str]) -> None:
            answer = gateway.post(f"/v1/models/{MODEL}/predict", json={"instances": batch})
            assert answer.status_code == 200, answer.text

        def through_invoke_endpoint(batch: list[str]) -> None:
            answer = runtime.invoke_endpoint(
                EndpointName=MODEL,
                Body=json.dumps({"instances": batch}).encode(),
                ContentType="application/json",
                Accept="application/json",
                CustomAttributes="route=v1-predict",
            )
            assert len(json.loads(answer["Body"].read())["predictions"]) == len(batch)

        ways: dict[str, Callable[[list[str]], None]] = {
            "gateway route": through_gateway,
            "local InvokeEndpoint (boto3)": through_invoke_endpoint,
        }
        for call in ways.values():
            call(batches[0])  # warm
        found: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, call in ways.items():
                started = time.perf_counter()
                for batch in batches:
                    call(batch)
                found[name].append((time.perf_counter() - started) / len(batches) * 1000)
        for name, values in found.items():
            print(f"{name}: " + ", ".join(f"{value:.1f}" for value in values) + " ms per call of 8 texts")
    finally:
        stop_local(process)
    return 0


if __name__ == "__main__":
    sys.exit(main())
