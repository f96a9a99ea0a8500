"""SnapStart, emulated: restore + first answer vs today's container cold start, per bundled CPU model.

Both sides fetch the model from moto's S3 server on loopback, with one ONNX Runtime thread (what a 512-2048 MB
function gets). Each run pairs, back to back on the same machine:
- cold: today's container-style cold start, a fresh process that imports handler.py (the model fetch starts in the
  background) and answers the first API Gateway event (bench/_cold_child.py ``modelrail``: import + load + first
  answer, from the interpreter's first line, so without the interpreter's own start);
- restore: a SnapStart snapshot process (bench/_snapstart_child.py) whose init loads and primes the model and runs
  the before-snapshot hooks; environments are then forked from it one after another, as local mode restores them,
  and each runs the after-restore hooks and answers the same event. Timed from just before the fork to the answer.
The ratio restore / cold is taken within each run (the first restored environment against that run's cold start)
and reported as the median over runs, with the spread. What the fork does not emulate, and only AWS can measure, is
Lambda's own restore of a Firecracker snapshot (its "Restore Duration"), which replaces the fork here.

    .venv/bin/python bench/snapstart_restore.py [--runs 5] [--models minilm digits] [--chart docs/snapstart-restore.png]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _model_bucket import EVENTS, bench_child, model_bucket  # noqa: E402

TARGET_RATIO = 0.25


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=["minilm", "digits"])
    parser.add_argument("--chart", type=Path, help="write a PNG bar chart of the medians here")
    args = parser.parse_args()

    results: dict[str, dict[str, Any]] = {}
    with model_bucket() as bucket:
        for model in args.models:
            model_env = bucket.upload(model)
            event = str(ROOT / "events" / EVENTS[model])
            cold_runs: list[dict[str, Any]] = []
            snapshot_runs: list[dict[str, Any]] = []
            for _ in range(args.runs):
                for kind in ("cold", "restore"):
                    with tempfile.TemporaryDirectory() as cache:
                        env = bucket.child_env(model_env, cache=cache)
                        if kind == "cold":
                            cold_runs.append(bench_child("_cold_child.py", ["modelrail", model, event], env))
                        else:
                            snapshot_runs.append(bench_child("_snapstart_child.py", [event], env))
            results[model] = report(model, cold_runs, snapshot_runs)
    if args.chart is not None:
        draw(args.chart, results)
        print(f"\nchart: {args.chart}")
    return 0


def report(model: str, cold_runs: list[dict[str, Any]], snapshot_runs: list[dict[str, Any]]) -> dict[str, Any]:
    firsts = [run["restores"][0] for run in snapshot_runs]
    later = [restore for run in snapshot_runs for restore in run["restores"][1:]]
    ratios = [first["total_ms"] / cold["total_ms"] for first, cold in zip(firsts, cold_runs, strict=True)]
    cold = statistics.median(run["total_ms"] for run in cold_runs)
    restore = statistics.median(first["total_ms"] for first in firsts)

    def med(runs: list[dict[str, Any]], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    print(f"\n## {model}: median of {len(cold_runs)} runs (ms)")
    print("| | fork | after-restore hooks | first answer | total |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| today's container cold start (import + load + first answer) | | | | {cold:.0f} |")
    for label, runs in (("first restored environment", firsts), ("later restored environments", later)):
        hooks = med(runs, "restore_ms") - med(runs, "fork_ms")
        print(
            f"| {label} | {med(runs, 'fork_ms'):.1f} | {hooks:.1f} | {med(runs, 'first_answer_ms'):.1f} | "
            f"{med(runs, 'total_ms'):.1f} |"
        )
    print(f"snapshot init (at version publish, not on any request): {med(snapshot_runs, 'init_ms'):.0f} ms")
    print(
        f"restore + first answer / container cold start: median {statistics.median(ratios):.3f} "
        f"(runs: {', '.join(f'{r:.3f}' for r in ratios)}; target <= {TARGET_RATIO})"
    )
    return {"cold_ms": cold, "restore_ms": restore, "ratio": statistics.median(ratios)}


def draw(path: Path, results: dict[str, dict[str, Any]]) -> None:
    """Bars per model: today's container cold start and emulated restore + first answer (medians, ms)."""
    from PIL import Image, ImageDraw

    width, height, left, bottom, top = 760, 420, 90, 70, 60
    image = Image.new("RGB", (width, height), "white")
    draw_ = ImageDraw.Draw(image)
    draw_.text((left, 15), "SnapStart, emulated by fork: restore + first answer vs container cold start", fill="black")
    note = "(median ms; the fork stands in for Lambda's snapshot restore, which only AWS can time)"
    draw_.text((left, 32), note, fill="gray")
    high = max(r["cold_ms"] for r in results.values()) * 1.15
    plot_h = height - top - bottom
    draw_.line([(left, height - bottom), (width - 30, height - bottom)], fill="black")
    draw_.line([(left, top), (left, height - bottom)], fill="black")
    for i in range(6):
        value = high * i / 5
        y = height - bottom - plot_h * i / 5
        draw_.line([(left - 5, y), (left, y)], fill="black")
        draw_.text((10, y - 6), f"{value:.0f} ms", fill="black")
    group_w = (width - left - 30) / len(results)
    for index, (model, result) in enumerate(results.items()):
        x0 = left + index * group_w + group_w * 0.15
        bar_w = group_w * 0.3
        for offset, (key, colour) in enumerate((("cold_ms", "steelblue"), ("restore_ms", "seagreen"))):
            x = x0 + offset * (bar_w + 8)
            y = height - bottom - plot_h * result[key] / high
            draw_.rectangle([(x, y), (x + bar_w, height - bottom)], fill=colour)
            draw_.text((x, y - 14), f"{result[key]:.0f}", fill="black")
        draw_.text((x0, height - bottom + 8), f"{model}: ratio {result['ratio']:.3f}", fill="black")
    draw_.rectangle([(width - 250, top), (width - 238, top + 12)], fill="steelblue")
    draw_.text((width - 232, top), "container cold start", fill="black")
    draw_.rectangle([(width - 250, top + 18), (width - 238, top + 30)], fill="seagreen")
    draw_.text((width - 232, top + 18), "restore + first answer", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


if __name__ == "__main__":
    sys.exit(main())
