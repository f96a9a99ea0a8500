"""One cold process for bench/cold_start.py: ``raw`` (the baseline), ``raw+framework`` or ``modelrail``.

Run by cold_start.py in a fresh interpreter; prints one JSON line of timings. Not meant to be run by hand.
"""

import time

STARTED = time.perf_counter()

import json  # noqa: E402 - timing starts before any import
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident set size of this process (VmHWM; ru_maxrss would include the pre-exec parent)."""
    with Path("/proc/self/status").open(encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def raw(model: str, *, framework: bool = False) -> dict[str, float]:
    """The floor: import onnxruntime + boto3, fetch model.onnx from S3, build a session, run once.

    With ``framework``, also import what the SPEC requires of every function (FastAPI, which brings pydantic
    and Starlette, and Mangum) first, serially: the floor the web stack sets, whatever modelrail does.
    """
    if framework:
        import fastapi  # noqa: F401
        import mangum  # noqa: F401
    import boto3
    import numpy as np
    import onnxruntime as ort

    imported = time.perf_counter()
    bucket, prefix, cache = (
        os.environ["MODELRAIL_MODEL_BUCKET"],
        os.environ["MODELRAIL_MODEL_PREFIX"],
        os.environ["MODELRAIL_CACHE_DIR"],
    )
    Path(cache).mkdir(parents=True, exist_ok=True)
    path = str(Path(cache) / "model.onnx")
    boto3.client("s3").download_file(bucket, prefix + "model.onnx", path)
    fetched = time.perf_counter()
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ["MODELRAIL_INTRA_OP_THREADS"])
    session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])
    built = time.perf_counter()
    if model == "minilm":
        ids = np.array([[101, 1037, 2158, 2003, 2652, 1037, 2858, 1012, 102]], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    else:
        feeds = {session.get_inputs()[0].name: np.zeros((1, 1, 8, 8), np.float32)}
    session.run(None, feeds)
    done = time.perf_counter()
    return {
        "imports_ms": (imported - STARTED) * 1000,
        "fetch_ms": (fetched - imported) * 1000,
        "session_ms": (built - fetched) * 1000,
        "first_inference_ms": (done - built) * 1000,
        "total_ms": (done - STARTED) * 1000,
    }


def modelrail(event_path: str) -> dict[str, float]:
    """The real thing: import handler.py (app + background fetch), then answer the first event."""
    import types

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions" / "lambda_inference"))
    import handler

    imported = time.perf_counter()
    event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    context = types.SimpleNamespace(
        aws_request_id="bench",
        function_name="bench",
        memory_limit_in_mb=2048,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
        get_remaining_time_in_millis=lambda: 15000,
    )
    response = handler.handler(event, context)
    done = time.perf_counter()
    assert response["statusCode"] == 200, response["body"][:300]
    loaded = handler.app.state.loader.loaded
    return {
        "imports_ms": (imported - STARTED) * 1000,
        "fetch_ms": loaded.fetch_ms,
        "session_ms": loaded.session_ms,
        "first_request_ms": (done - imported) * 1000,
        "total_ms": (done - STARTED) * 1000,
    }


if __name__ == "__main__":
    kind, model, event_file = sys.argv[1:4]
    timings = modelrail(event_file) if kind == "modelrail" else raw(model, framework=kind == "raw+framework")
    timings["peak_rss_mb"] = peak_rss_mb()
    sys.stdout.write("BENCH " + json.dumps(timings) + "\n")
