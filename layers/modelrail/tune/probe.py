"""One measured Lambda environment for ``modelrail tune``: cold start, then warm latency per batch size.

Run by ``modelrail tune`` in a fresh interpreter (inside a CPU quota where possible) as
``python -m modelrail.tune.probe --artifact DIR --handler FILE --memory-mb M --batch-sizes 1,8 --calls N``;
prints one JSON line. The handler is the real Lambda handler, fed REST API proxy events for
``POST /v1/models/<name>/predict``; the model comes from the artifact directory (no S3 fetch), so the cold
start measured is imports + session build + the first answer.
"""

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402 - timing starts before any import
import importlib.util  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


def _context(memory_mb: int) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        aws_request_id="tune",
        function_name="tune",
        memory_limit_in_mb=memory_mb,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:tune",
        get_remaining_time_in_millis=lambda: 20_000,
    )


def _event(name: str, instances: list[Any]) -> dict[str, Any]:
    from modelrail.local.events import HttpRequest, build_proxy_event

    path = f"/v1/models/{name}/predict"
    body = json.dumps({"instances": instances}).encode()
    request = HttpRequest("POST", path, headers=[("Content-Type", "application/json"), ("Host", "tune")], body=body)
    return build_proxy_event(request, resource=path)


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    """Measure and print one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--artifact", type=Path, required=True)
    parser.add_argument("--handler", type=Path, required=True)
    parser.add_argument("--memory-mb", type=int, required=True)
    parser.add_argument("--batch-sizes", required=True)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--instances-file", type=Path, required=True, help="JSON: batch size -> instances")
    args = parser.parse_args()
    manifest = json.loads((args.artifact / "manifest.json").read_text(encoding="utf-8"))
    os.environ.update(
        {
            "MODELRAIL_MODEL_DIR": str(args.artifact),
            "MODELRAIL_MODEL_NAME": manifest["name"],
            "MODELRAIL_MODEL_VERSION": manifest["version"],
            "AWS_LAMBDA_FUNCTION_NAME": "tune",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(args.memory_mb),
            "MODELRAIL_LOG_LEVEL": "ERROR",
        }
    )
    instances: dict[str, list[Any]] = json.loads(args.instances_file.read_text(encoding="utf-8"))
    sizes = [int(size) for size in args.batch_sizes.split(",")]
    context = _context(args.memory_mb)
    spec = importlib.util.spec_from_file_location("tune_handler", args.handler)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with Path(os.devnull).open("w", encoding="utf-8") as sink:
        real_stdout, sys.stdout = sys.stdout, sink  # the handler's JSON log and EMF lines
        try:
            spec.loader.exec_module(module)
            first = module.handler(_event(manifest["name"], instances[str(sizes[0])]), context)
            cold_ms = (time.perf_counter() - STARTED) * 1000
            if first["statusCode"] != 200:
                raise SystemExit(f"the model answered {first['statusCode']}: {first['body'][:300]}")
            rows = {}
            for size in sizes:
                event = _event(manifest["name"], instances[str(size)])
                for _ in range(max(5, args.calls // 10)):  # warm-up: caches, allocator, branch predictors
                    module.handler(event, context)
                latencies = []
                for _ in range(args.calls):
                    started = time.perf_counter()
                    answer = module.handler(event, context)
                    latencies.append((time.perf_counter() - started) * 1000)
                    if answer["statusCode"] != 200:
                        raise SystemExit(f"the model answered {answer['statusCode']}: {answer['body'][:300]}")
                rows[str(size)] = {
                    "p50_ms": percentile(latencies, 0.5),
                    "p99_ms": percentile(latencies, 0.99),
                    "mean_ms": sum(latencies) / len(latencies),
                }
        finally:
            sys.stdout = real_stdout
    from modelrail.settings import get_settings

    threads = get_settings().resolved_intra_op_threads  # what the runtime chose for this memory size
    print(json.dumps({"cold_ms": cold_ms, "batch": rows, "intra_op_threads": threads}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
