"""``modelrail tune NAME``: what each Lambda memory size costs and how fast it answers, against SageMaker."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from modelrail.constants import BUILD_DIR, MANIFEST_YAML, MODELS_DIR

ARCH = "x86_64"
"""Measured here on x86_64. arm64 prices are in the table, but its speed is not measured (no arm64 CPU here)."""


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``tune``."""
    parser = commands.add_parser(
        "tune",
        help="latency and $ per 1M requests per Lambda memory size, against SageMaker",
        description=(
            "Run the built model's real Lambda handler at each memory size with that size's vCPU share (a cgroup "
            "CPU quota where the machine allows one), price each size, price SageMaker instances from the "
            "container's measured throughput, and recommend the cheapest memory whose p99 meets the budget."
        ),
    )
    parser.add_argument("name", help="model name (models/<name>/model.yaml, built)")
    parser.add_argument("--p99-ms", type=float, help="p99 budget at batch 1 (default: the model's timeout)")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    parser.add_argument("--apply", action="store_true", help="write the recommended memory_mb into model.yaml")
    parser.add_argument("--prices", type=Path, help="price file (default: the dated one shipped with modelrail)")
    parser.add_argument("--region", default=None, help="region in the price file (default: us-east-1)")
    parser.add_argument("--memory", help="comma-separated memory sizes in MB (default: 512 to 10240)")
    parser.add_argument("--calls", type=int, default=200, help="warm calls per size and batch size (default 200)")
    parser.add_argument("--utilisation", type=float, default=0.5, help="SageMaker busy share for $ per 1M (0.5)")
    parser.add_argument("--no-sagemaker", action="store_true", help="skip measuring the SageMaker container")
    parser.add_argument("--models-dir", type=Path, default=Path(MODELS_DIR))
    parser.add_argument("--build-dir", type=Path, default=Path(BUILD_DIR))
    parser.set_defaults(run=run)


def _fmt_money(value: float | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


def _print_tables(result: dict[str, Any], *, arch: str) -> None:
    print(
        f"\n{result['model']} {result['version']}: Lambda ({result['cpu_method']}), prices {result['prices']['region']}"
    )
    print(f"(prices recorded {result['prices']['recorded']}; $ per 1M = mean duration x GB-s price + request price)")
    print("| memory MB | vCPU | threads | p50 ms | p99 ms | cold start s | $/1M x86_64 | how |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for row in result["lambda"]:
        method = "measured" if row["method"].startswith("measured") else "modelled"
        print(
            f"| {row['memory_mb']} | {row['vcpus']:.2f} | {row['intra_op_threads'] or '-'} | {row['p50_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | {row['cold_start_ms'] / 1000:.2f} | {_fmt_money(row['per_million'][arch])} | "
            f"{method} |"
        )
    sm = result["sagemaker"]
    if sm["rows"]:
        rps = sm["measured_rps_here"]
        here = f"{rps:.1f} req/s measured here at concurrency {sm['concurrency']}" if rps else "not measured"
        print(f"\nSageMaker real-time ({here}; {sm['scaling_rule']}; $/1M at {sm['utilisation']:.0%} busy)")
        print("| instance | $/hour | vCPU | req/s | $/1M at 100% | $/1M at util. | idle $/month | cheaper above |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for row in sm["rows"]:
            crossing = "-" if row["break_even_rps"] is None else f"{row['break_even_rps']:.1f} req/s"
            throughput = "-" if row["throughput_rps"] is None else f"{row['throughput_rps']:.1f}"
            print(
                f"| {row['instance_type']} | {row['hourly']:.4f} | {row['vcpus']} | {throughput} | "
                f"{_fmt_money(row['per_million_full'])} | {_fmt_money(row['per_million_at_utilisation'])} | "
                f"{_fmt_money(row['idle_per_month'])} | {crossing} |"
            )
    if result.get("arm64_note"):
        print(f"\n{result['arm64_note']}")
    rec = result["recommendation"]
    if rec["memory_mb"] is None:
        print(f"\nno memory size meets p99 <= {rec['p99_budget_ms']:.0f} ms at batch 1")
    else:
        print(
            f"\nrecommended: memory_mb {rec['memory_mb']} ({_fmt_money(rec['per_million'])} per 1M, "
            f"p99 budget {rec['p99_budget_ms']:.0f} ms)"
        )
    if rec["break_even_rps"] is not None:
        print(
            f"a {rec['cheapest_sagemaker']} endpoint costs less above {rec['break_even_rps']:.1f} requests/s "
            f"sustained ({rec['break_even_rps'] * 86400:,.0f} a day)"
        )
    else:
        print("SageMaker: no instance type costs less per request than Lambda at this memory, at any load")


class TuneError(Exception):
    """A user-facing failure: the message, and the exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _say(message: str) -> None:
    print(f"[tune] {message}", file=sys.stderr, flush=True)


def _memory_sizes(text: str | None) -> list[int]:
    from modelrail.tune.measure import LAMBDA_MEMORY_SIZES

    try:
        sizes = [int(v) for v in text.split(",")] if text else list(LAMBDA_MEMORY_SIZES)
    except ValueError:
        raise TuneError(f"--memory {text!r} is not a comma-separated list of MB", 2) from None
    if not all(128 <= size <= 10240 for size in sizes):
        raise TuneError("Lambda memory sizes are 128 to 10240 MB", 2)
    return sizes


def _tune(args: argparse.Namespace) -> int:
    from modelrail.manifest import CpuDeploy, ManifestError, Target, load_manifest
    from modelrail.store.current import ArtifactNotCurrentError, current_artifact
    from modelrail.tune.measure import Measurements, measure_lambda, measure_sagemaker_rps
    from modelrail.tune.prices import DEFAULT_PRICES, DEFAULT_REGION, PriceError, load_prices

    manifest_path = args.models_dir / args.name / MANIFEST_YAML
    try:
        manifest = load_manifest(manifest_path)
        prices = load_prices(args.prices or DEFAULT_PRICES, region=args.region or DEFAULT_REGION)
    except (ManifestError, PriceError) as exc:
        raise TuneError(str(exc)) from None
    try:  # the same check as build, push, synth and local up: never time a stale or damaged artifact
        verified = current_artifact(manifest, args.build_dir)
    except ArtifactNotCurrentError as exc:
        raise TuneError(str(exc)) from None
    artifact = verified.directory.resolve()
    sizes = _memory_sizes(args.memory)
    batch_sizes = sorted({1, verified.manifest.serving.max_batch_size})
    root = Path.cwd()
    rows, method = measure_lambda(
        artifact, root=root, memory_sizes=sizes, batch_sizes=batch_sizes, calls=args.calls, say=_say
    )
    measurements = Measurements(
        model=manifest.name, version=manifest.version, machine_cores=len(os.sched_getaffinity(0)), cpu_method=method
    )
    measurements.rows = rows
    gpu_model = manifest.deploy.target is Target.GPU
    if not args.no_sagemaker and not gpu_model:
        measurements.sagemaker_rps, measurements.sagemaker_concurrency = measure_sagemaker_rps(
            artifact, root=root, say=_say
        )
    # A GPU model has no Lambda timeout of its own: budget it as the CPU default would.
    timeout_s = manifest.cpu_deploy.timeout_s if not gpu_model else CpuDeploy().timeout_s
    budget = args.p99_ms if args.p99_ms is not None else timeout_s * 1000.0
    result = _price_and_write(args, measurements, prices, artifact, budget=budget, gpu_model=gpu_model)
    if args.apply:
        _apply(manifest_path, result["recommendation"]["memory_mb"], gpu_model=gpu_model)
    return 0


def _price_and_write(
    args: argparse.Namespace, measurements: Any, prices: Any, artifact: Path, *, budget: float, gpu_model: bool
) -> dict[str, Any]:
    from modelrail.tune.chart import draw_chart
    from modelrail.tune.report import as_json, lambda_cost_per_request_at, lambda_table, recommend, sagemaker_table

    lambda_rows = lambda_table(measurements, prices)
    first = recommend(lambda_rows, [], p99_budget_ms=budget, arch=ARCH)
    cpr = None if first.memory_mb is None else lambda_cost_per_request_at(lambda_rows, first.memory_mb, prices, ARCH)
    sm_rows = sagemaker_table(measurements, prices, gpu_model=gpu_model, utilisation=args.utilisation, lambda_cpr=cpr)
    recommendation = recommend(lambda_rows, sm_rows, p99_budget_ms=budget, arch=ARCH)
    result = as_json(measurements, prices, lambda_rows, sm_rows, recommendation, utilisation=args.utilisation)
    (artifact / "tune.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    line = None
    if recommendation.cheapest_sagemaker is not None:
        row = next(r for r in sm_rows if r.instance_type == recommendation.cheapest_sagemaker)
        if row.per_million_full is not None and row.break_even_rps is not None:
            line = (
                f"{row.instance_type} at 100% busy: cheaper above {row.break_even_rps:.1f} req/s",
                row.per_million_full,
            )
    chart = draw_chart(
        artifact / "tune.png",
        title=f"{measurements.model} {measurements.version}: $ per 1M requests vs p99 per Lambda memory size ({ARCH})",
        lambda_rows=lambda_rows,
        arch=ARCH,
        sagemaker_line=line,
        recommended_mb=recommendation.memory_mb,
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_tables(result, arch=ARCH)
        print(f"\nwritten: {artifact / 'tune.json'}, {chart}")
    return result


def _apply(manifest_path: Path, memory_mb: int | None, *, gpu_model: bool) -> None:
    from modelrail.manifest import ManifestError
    from modelrail.tune.manifest_edit import set_deploy_memory

    if gpu_model:
        raise TuneError("--apply sets Lambda memory; this is a GPU model (SageMaker)", 2)
    if memory_mb is None:
        raise TuneError("nothing to apply: no memory size meets the p99 budget")
    try:
        set_deploy_memory(manifest_path, memory_mb)
    except ManifestError as exc:
        raise TuneError(f"not applied: {exc}") from None
    print(f"applied: {manifest_path} deploy.memory_mb = {memory_mb}")


def run(args: argparse.Namespace) -> int:
    """Measure, price, recommend; write tune.json and tune.png beside the build."""
    try:
        return _tune(args)
    except TuneError as exc:
        print(f"modelrail tune: {exc}", file=sys.stderr)
        return exc.status
