"""Pre-optimized graphs: session build and p50 at batch 1, the served artifact vs the same model built as before.

"Before" is the model quantized from the same cached fp32 export with the same settings and no pre-optimization
(the build's own ``quantize``, as `modelrail build` did before pre-optimized graphs), loaded with ONNX Runtime's
full optimization at session build. "Served" is `build/models/<name>/<version>/model.onnx` loaded exactly as the
runtime loads it (``ModelSession`` with the manifest's `graph` record: ``modelrail.graph_options``).

- Session build: the first ``ModelSession`` of a fresh Python process (onnxruntime already imported), as on a cold
  start, and a second one in the same process (the weights' memory then comes from the allocator, not from fresh
  pages); the kinds take turns, ``--runs`` processes each; medians.
- p50 at batch 1: the fp32 export (ORT's full optimization, as the build times it), before and served, interleaved
  in one process on the gate's median-size instance, one intra-op thread.
- The gate numbers are the build's own, from `report.json` (measured on the served bytes with the served options).

Run from the repository root after `modelrail build minilm`:

    .venv/bin/python bench/session_build.py [--model minilm] [--runs 11]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CHILD = """
import json, sys, time
import onnxruntime
from modelrail.manifest import BuiltManifest
from modelrail.session import ModelSession
path, manifest_path, pre_optimized = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
manifest = BuiltManifest.model_validate_json(open(manifest_path, "rb").read())
times = []
for _ in range(2):
    started = time.perf_counter()
    session = ModelSession(path, providers=None, intra_op_threads=1, inter_op_threads=1, max_batch_size=1, spin=False,
                           graph=manifest.graph if pre_optimized else None)
    times.append((time.perf_counter() - started) * 1000)
    level = session.graph_optimization
    del session
print("BENCH " + json.dumps({"ms": times, "level": level}))
"""


def build_ms(path: Path, manifest: Path, *, pre_optimized: bool) -> tuple[list[float], str]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(manifest), "1" if pre_optimized else "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("BENCH ")]
    if result.returncode != 0 or not lines:
        raise SystemExit(f"session build failed:\n{result.stderr[-3000:]}")
    data = json.loads(lines[-1].removeprefix("BENCH "))
    return [float(value) for value in data["ms"]], str(data["level"])


def main() -> int:
    from modelrail.builder import ensure_source, latency
    from modelrail.builder.inputs import AdapterContext, load_dataset
    from modelrail.builder.quantize import quantize
    from modelrail.builder.sessions import graph_inputs, open_session
    from modelrail.manifest import BuiltManifest, load_manifest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    manifest = load_manifest(ROOT / "models" / args.model / "model.yaml")
    artifact = ROOT / "build" / "models" / manifest.name / manifest.version
    built = BuiltManifest.model_validate_json((artifact / "manifest.json").read_bytes())
    report = json.loads((artifact / "report.json").read_text())
    source = ensure_source(args.model)
    with tempfile.TemporaryDirectory(prefix="bench-session-") as scratch:
        before = Path(scratch) / "model.onnx"
        quantize(source.fp32_model, before, manifest.quantization, scratch=Path(scratch))
        served = artifact / built.model_file
        times: dict[str, list[list[float]]] = {"before": [], "served": []}
        levels: dict[str, str] = {}
        for _ in range(args.runs):
            for kind, path, pre in (("before", before, False), ("served", served, True)):
                ms, levels[kind] = build_ms(path, artifact / "manifest.json", pre_optimized=pre)
                times[kind].append(ms)
        fp32 = open_session(source.fp32_model)
        context = AdapterContext(manifest=manifest, inputs=graph_inputs(fp32), find_file=source.find)
        gate = manifest.gate
        dataset_name = gate.dataset if gate else (manifest.quantization.calibration or manifest).dataset  # type: ignore[union-attr]
        feeds = latency.typical_instance(load_dataset(source.find(dataset_name), context))
        sessions = {
            "fp32 export": fp32,
            "before": open_session(before),
            "served": open_session(served, graph=built.graph),
        }
        p50 = interleaved_p50(sessions, feeds)
    first = {kind: statistics.median(run[0] for run in runs) for kind, runs in times.items()}
    second = {kind: statistics.median(run[1] for run in runs) for kind, runs in times.items()}
    print(f"{args.model}: graph {built.graph.model_dump() if built.graph else None}")
    print(f"session build ms, {args.runs} fresh processes each, medians (ORT level)")
    print("| artifact | first session in the process | vs before | second session | vs before |")
    print("| --- | --- | --- | --- | --- |")
    for kind, label in (
        ("before", "before (plain int8, ORT optimizes at build)"),
        ("served", "served (pre-optimized)"),
    ):
        print(
            f"| {label} ({levels[kind]}) | {first[kind]:.1f} | {first[kind] / first['before']:.2f} | "
            f"{second[kind]:.1f} | {second[kind] / second['before']:.2f} |"
        )
    print(f"p50 at batch 1, interleaved, input shapes {[list(a.shape) for a in feeds.values()]}, one thread, ms")
    print("| model | p50 ms | vs fp32 export |")
    print("| --- | --- | --- |")
    for name, value in p50.items():
        print(f"| {name} | {value:.3f} | {value / p50['fp32 export']:.3f} |")
    print(f"gate (report.json, served bytes and options): {report['gate'].get('results')}")
    return 0


def interleaved_p50(sessions: dict[str, object], feeds: dict[str, object], runs: int = 400) -> dict[str, float]:
    """p50 ms of each session, calls taking turns so every session sees the same background load."""
    for _ in range(10):
        for session in sessions.values():
            session.run(None, feeds)  # type: ignore[attr-defined]
    samples: dict[str, list[float]] = {name: [] for name in sessions}
    for _ in range(runs):
        for name, session in sessions.items():
            started = time.perf_counter()
            session.run(None, feeds)  # type: ignore[attr-defined]
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) * 1000 for name, values in samples.items()}


if __name__ == "__main__":
    sys.exit(main())
