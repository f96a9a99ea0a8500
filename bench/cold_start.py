"""Cold start of the Lambda handler vs a raw ONNX Runtime baseline, both fetching from a local S3 server.

Each run is a fresh Python process with an empty cache directory, against moto's S3 server on loopback:
- raw: import onnxruntime + boto3, download model.onnx, build a session, run once (the floor);
- modelrail: import handler.py (FastAPI app, Mangum; the model fetch starts in the background), then answer
  the first API Gateway event: verified fetch of every artifact file, session, processor, response.
Two more kinds put the ratio in context. raw + framework imports runs the raw steps after importing FastAPI
and Mangum (the SPEC's web stack): the share of the gap that is the web stack itself. raw, tuned runs them
with modelrail's start-up tuning (garbage collector off, one OpenBLAS thread): the share of modelrail's gain
that any script could have. Runs rotate through the four kinds so they share any load on the machine.
Prints medians, the ratios and peak RSS. With --breakdown, a fifth kind walks modelrail's cold path one step
at a time with nothing overlapping and prints the CPU each step costs, against the raw baseline's total.

    .venv/bin/python bench/cold_start.py [--runs 7] [--models minilm digits] [--breakdown]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _model_bucket import EVENTS, bench_child, model_bucket  # noqa: E402


def child(kind: str, model: str, env: dict[str, str]) -> dict[str, float]:
    return bench_child("_cold_child.py", [kind, model, str(ROOT / "events" / EVENTS[model])], env)


def median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--models", nargs="+", default=["minilm", "digits"])
    parser.add_argument("--breakdown", action="store_true", help="also time modelrail's steps one by one")
    args = parser.parse_args()

    with model_bucket() as bucket:
        for model in args.models:
            model_env = bucket.upload(model)
            raw_runs: list[dict[str, float]] = []
            tuned_runs: list[dict[str, float]] = []
            framework_runs: list[dict[str, float]] = []
            ours: list[dict[str, float]] = []
            serial_runs: list[dict[str, float]] = []
            kinds = [("raw", raw_runs), ("raw+tuned", tuned_runs), ("raw+framework", framework_runs)]
            kinds.append(("modelrail", ours))
            if args.breakdown:
                kinds.append(("serial", serial_runs))
            for _ in range(args.runs):
                for kind, runs in kinds:
                    with tempfile.TemporaryDirectory() as cache:
                        runs.append(child(kind, model, bucket.child_env(model_env, cache=cache)))
            report(model, raw_runs, tuned_runs, framework_runs, ours)
            if serial_runs:
                report_breakdown(raw_runs, ours, serial_runs)
    return 0


def row(label: str, runs: list[dict[str, float]], *, ours: bool = False) -> str:
    first = "first_request_ms" if ours else "first_inference_ms"
    fetch = f"{median(runs, 'fetch_ms'):.0f}" + (" (background)" if ours else "")
    return (
        f"| {label} | {median(runs, 'imports_ms'):.0f} | {fetch} | {median(runs, 'session_ms'):.0f} | "
        f"{median(runs, first):.0f} | {median(runs, 'total_ms'):.0f} | {median(runs, 'peak_rss_mb'):.0f} |"
    )


def report(
    model: str,
    raw_runs: list[dict[str, float]],
    tuned_runs: list[dict[str, float]],
    framework_runs: list[dict[str, float]],
    ours: list[dict[str, float]],
) -> None:
    raw_total, tuned_total, framework_total, our_total = (
        median(runs, "total_ms") for runs in (raw_runs, tuned_runs, framework_runs, ours)
    )
    print(f"\n## {model}: median of {len(ours)} cold processes each (ms)")
    print("| | imports | fetch | session | first inference / request | total | peak RSS MB |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(row("raw baseline", raw_runs))
    print(row("raw, tuned like modelrail's start-up", tuned_runs))
    print(row("raw + FastAPI and Mangum imports", framework_runs))
    print(row("modelrail handler", ours, ours=True))
    print(f"cold start ratio modelrail / raw: {our_total / raw_total:.2f} (target <= 1.3)")
    print(f"modelrail / raw tuned the same way: {our_total / tuned_total:.2f}")
    print(f"floor set by the web stack, (raw + framework imports) / raw: {framework_total / raw_total:.2f}")
    print(f"cold start ratio modelrail / (raw + framework imports): {our_total / framework_total:.2f}")


def report_breakdown(
    raw_runs: list[dict[str, float]], ours: list[dict[str, float]], serial_runs: list[dict[str, float]]
) -> None:
    raw_total = median(raw_runs, "total_ms")
    print(f"\n### modelrail's cold path step by step, nothing overlapping: median CPU of {len(serial_runs)} processes")
    print("| step | CPU ms | x raw baseline total |")
    print("| --- | --- | --- |")
    steps = [key for key in serial_runs[0] if key.startswith("cpu:")]
    for key in steps:
        cpu = median(serial_runs, key)
        print(f"| {key.removeprefix('cpu:')} | {cpu:.0f} | {cpu / raw_total:.2f} |")
    serial_total, our_total = median(serial_runs, "total_ms"), median(ours, "total_ms")
    print(f"one step after another: {serial_total:.0f} ms; overlapped (modelrail handler): {our_total:.0f} ms")


if __name__ == "__main__":
    sys.exit(main())
