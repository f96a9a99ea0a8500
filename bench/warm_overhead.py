"""Warm handler overhead: API Gateway event in -> Lambda response out, minus the time inside session.run.

Everything the function adds to the model's own compute on a warm invocation: Mangum's event translation,
routing, body parsing and validation, tokenization or image decoding, output encoding, the JSON log line and
EMF metrics. Measured in-process on the real handler with the real built models, against bare FastAPI apps
under Mangum in the same run (one async route, one sync route: the floor of the framework alone).

    .venv/bin/python bench/warm_overhead.py [--calls 2000]

Before and after a change, in one run: ``--compare REF --compare-build DIR`` runs the same measurement on the
runtime of git revision REF (its ``layers/``, ``functions/`` and ``tests/support/``, exported to a scratch
directory, serving the artifacts in DIR that REF's code can read) and on this tree, in fresh processes that take
turns for ``--rounds`` rounds, and prints the medians over the rounds and this tree's p50 overhead / REF's.

    .venv/bin/python bench/warm_overhead.py --compare 7368e9d --compare-build ../main/build --rounds 5
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CONTEXT = types.SimpleNamespace(
    aws_request_id="bench",
    function_name="bench",
    memory_limit_in_mb=2048,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
    get_remaining_time_in_millis=lambda: 15_000,
)
CLOCK = time.perf_counter
"""Wall time by default; ``--clock cpu`` uses this thread's CPU time, which a busy shared machine disturbs less
(ONNX Runtime runs on the calling thread with one intra-op thread, so its share is subtracted the same way)."""
CASES = [
    ("minilm", "minilm-predict.http-api-v2.json"),
    ("minilm", "minilm-infer.rest-v1.json"),
    ("digits", "digits-predict.rest-v1.json"),
    ("digits", "digits-infer-binary.rest-v1.json"),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load_handler(model: str) -> types.ModuleType:
    from modelrail import constants as c
    from modelrail.settings import get_settings
    from tests.support.serving_servers import built_artifact

    os.environ.update(
        {
            "MODELRAIL_MODEL_DIR": str(built_artifact(model)),
            "MODELRAIL_MODEL_NAME": model,
            "MODELRAIL_MODEL_VERSION": "1",
            "MODELRAIL_INTRA_OP_THREADS": "1",
            c.ENV_LAMBDA_FUNCTION_NAME: "bench",
            c.ENV_LAMBDA_FUNCTION_MEMORY_SIZE: "2048",
        }
    )
    get_settings.cache_clear()
    spec = importlib.util.spec_from_file_location(
        f"handler_{model}", ROOT / "functions" / "lambda_inference" / "handler.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def time_calls(call: Callable[[], Any], calls: int, run_seconds: list[float]) -> tuple[list[float], list[float]]:
    """Wall time per call and wall time minus the session.run time recorded during it (ms)."""
    totals, overheads = [], []
    for _ in range(calls):
        run_seconds.clear()
        started = CLOCK()
        call()
        elapsed = CLOCK() - started
        totals.append(elapsed * 1000)
        overheads.append((elapsed - sum(run_seconds)) * 1000)
    return totals, overheads


def bare_apps() -> dict[str, Any]:
    from fastapi import FastAPI
    from mangum import Mangum

    app = FastAPI()

    @app.post("/async")
    async def async_route() -> dict[str, str]:
        return {"ok": "yes"}

    @app.post("/sync")
    def sync_route() -> dict[str, str]:
        return {"ok": "yes"}

    return {"async": Mangum(app, lifespan="off"), "sync": Mangum(app, lifespan="off")}


def main() -> int:
    global ROOT, CLOCK  # noqa: PLW0603 - one script measures this tree or, as a child, another one
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--compare", metavar="REF", help="also measure the runtime of git revision REF")
    parser.add_argument("--compare-build", metavar="DIR", type=Path, help="artifacts REF's runtime can serve")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)  # a child measuring another tree
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    CLOCK = time.thread_time if args.clock == "cpu" else time.perf_counter
    if args.compare:
        return compare(args)
    if args.root is not None:
        ROOT = args.root
        sys.path.insert(0, str(ROOT))
    rows = []
    base_event = json.loads((ROOT / "events" / "minilm-predict.http-api-v2.json").read_text())
    with Path(os.devnull).open("w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        for route, handler in bare_apps().items():
            event = {**base_event, "rawPath": f"/{route}", "body": "{}"}
            event["requestContext"] = {
                **event["requestContext"],
                "http": {**event["requestContext"]["http"], "path": f"/{route}"},
            }
            for _ in range(200):
                handler(event, CONTEXT)
            totals, _ = time_calls(lambda h=handler, e=event: h(e, CONTEXT), args.calls, [])
            rows.append((f"bare FastAPI {route} route + Mangum", "", totals, totals))
        for model, event_name in CASES:
            module = load_handler(model)
            event = json.loads((ROOT / "events" / event_name).read_text())
            assert module.handler(event, CONTEXT)["statusCode"] == 200
            session = module.app.state.loader.get().session._session
            run_seconds: list[float] = []
            original = session.run

            def timed_run(*a: Any, _original: Any = original, _acc: list[float] = run_seconds) -> Any:
                started = CLOCK()
                try:
                    return _original(*a)
                finally:
                    _acc.append(CLOCK() - started)

            session.run = timed_run
            for _ in range(50):
                module.handler(event, CONTEXT)
            calls = args.calls if model == "digits" else max(200, args.calls // 4)
            totals, overheads = time_calls(lambda m=module, e=event: m.handler(e, CONTEXT), calls, run_seconds)
            rows.append((model, event_name, totals, overheads))
    if args.json:
        print(
            json.dumps(
                [
                    [name, event, statistics.median(totals), statistics.median(over)]
                    for name, event, totals, over in rows
                ]
            )
        )
        return 0
    print(
        f"warm handler ({args.clock} clock), {args.calls} calls per row (minilm rows: a quarter), "
        "one intra-op thread, ms"
    )
    print("| case | event | p50 total | p50 overhead | p99 overhead |")
    print("| --- | --- | --- | --- | --- |")
    for name, event_name, totals, overheads in rows:
        print(
            f"| {name} | {event_name} | {statistics.median(totals):.3f} | {statistics.median(overheads):.3f} | "
            f"{percentile(overheads, 0.99):.3f} |"
        )
    floor = statistics.median(rows[0][3])
    for name, event_name, _, overheads in rows[2:]:
        print(f"{name} {event_name}: p50 overhead / bare async route = {statistics.median(overheads) / floor:.1f}")
    return 0


def compare(args: argparse.Namespace) -> int:
    """REF's runtime and this tree's, in fresh processes taking turns; medians over rounds and the ratios."""
    if args.compare_build is None:
        raise SystemExit("--compare needs --compare-build DIR: artifacts that REF's runtime can read")
    with tempfile.TemporaryDirectory(prefix="warm-baseline-") as scratch:
        baseline = Path(scratch)
        archive = subprocess.run(
            [
                "git",
                "-C",
                str(ROOT),
                "archive",
                args.compare,
                "layers",
                "functions",
                "tests/support",
                "models",
                "events",
            ],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive, check=True)
        (baseline / "build").mkdir()
        (baseline / "build" / "models").symlink_to(args.compare_build.resolve() / "models")
        results: dict[str, list[list[list[object]]]] = {"before": [], "after": []}
        for _ in range(args.rounds):
            for label, root in (("before", baseline), ("after", ROOT)):
                env = {**os.environ, "PYTHONPATH": f"{root / 'layers'}:{root}"}
                command = [sys.executable, str(Path(__file__).resolve()), "--json", "--root", str(root)]
                done = subprocess.run(
                    [*command, "--calls", str(args.calls), "--clock", args.clock],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    raise SystemExit(f"{label} run failed:\n{done.stderr[-3000:]}")
                results[label].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(
        f"warm handler p50 ms ({args.clock} clock), median of {args.rounds} rounds; "
        f"before = {args.compare}, after = this tree"
    )
    print("| case | event | before: p50 total / overhead | after: p50 total / overhead | overhead after / before |")
    print("| --- | --- | --- | --- | --- |")
    for index, (name, event, _, _) in enumerate(results["after"][0]):
        before = [statistics.median(run[index][k] for run in results["before"]) for k in (2, 3)]  # type: ignore[misc]
        after = [statistics.median(run[index][k] for run in results["after"]) for k in (2, 3)]  # type: ignore[misc]
        print(
            f"| {name} | {event} | {before[0]:.3f} / {before[1]:.3f} | {after[0]:.3f} / **{after[1]:.3f}** | "
            f"{after[1] / before[1]:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
