"""One cold process for bench/cold_start.py: ``raw``, ``raw+tuned``, ``raw+framework``, ``modelrail`` or ``serial``.

Run by cold_start.py in a fresh interpreter; prints one JSON line of timings. Not meant to be run by hand.
"""

import time

STARTED = time.perf_counter()

import gc  # noqa: E402 - timing starts before any import
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident set size of this process (VmHWM; ru_maxrss would include the pre-exec parent)."""
    with Path("/proc/self/status").open(encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def raw(model: str, *, framework: bool = False, tuned: bool = False) -> dict[str, float]:
    """The floor: import onnxruntime + boto3, fetch model.onnx (and model.onnx.data) from S3, build a session, run
    once.

    With ``framework``, also import what the SPEC requires of every function (FastAPI, which brings pydantic
    and Starlette, and Mangum) first, serially: the floor the web stack sets, whatever modelrail does.
    With ``tuned``, the same interpreter tuning as modelrail's start-up (garbage collector off, one OpenBLAS
    thread): what of modelrail's gain any script could have.
    """
    if tuned:
        gc.disable()
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
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
    s3 = boto3.client("s3")
    # The graph and, for a pre-optimized build, its external weights (model.onnx.data) beside it.
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "model.onnx").get("Contents", [])
    for key in [item["Key"] for item in listed]:
        s3.download_file(bucket, key, str(Path(cache) / key.removeprefix(prefix)))
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


def lambda_context() -> object:
    """The attributes of a Lambda context that Mangum and the runtime read."""
    import types

    return types.SimpleNamespace(
        aws_request_id="bench",
        function_name="bench",
        memory_limit_in_mb=2048,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
        get_remaining_time_in_millis=lambda: 15000,
    )


def modelrail(event_path: str) -> dict[str, float]:
    """The real thing: import handler.py (app + background fetch), then answer the first event."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions" / "lambda_inference"))
    import handler

    imported = time.perf_counter()
    event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    response = handler.handler(event, lambda_context())
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


def serial(event_path: str) -> dict[str, float]:
    """modelrail's cold path one step after another, no overlap: the CPU each step costs (``cpu:<step>``).

    The steps run in the order and with the start-up tuning of the real cold start; the total is what the
    cold start would be if nothing overlapped.
    """
    timings: dict[str, float] = {}
    last = [time.process_time()]

    def step(name: str) -> None:
        now = time.process_time()
        timings[f"cpu:{name}"] = (now - last[0]) * 1000
        last[0] = now

    import mangum

    step("import mangum (asyncio)")
    from modelrail.startup import first_start_up

    with first_start_up():
        import modelrail.loader
        import modelrail.settings

        step("import pydantic, settings, loader")
        import modelrail.store
        import modelrail.store.s3

        step("import manifest models, store")
        client = modelrail.store.s3.make_s3_client()
        step("import botocore, make the S3 client")
        settings = modelrail.settings.get_settings()
        artifact = modelrail.store.fetch_artifact(settings, s3_client=client)
        step("fetch and verify the artifact")
        import numpy  # noqa: F401
        import onnxruntime  # noqa: F401

        step("import numpy, onnxruntime")
        import fastapi  # noqa: F401

        step("import fastapi (starlette, anyio)")
        from modelrail.app import create_app
        from modelrail.metrics import MetricsEmitter

        emitter = MetricsEmitter(namespace="bench", model="bench")
        loader = modelrail.loader.ModelLoader(settings, emitter, fetch=lambda _: artifact)
        app = create_app(settings, loader=loader, preload=False)
        step("build the app (routes, codecs)")
    loader.get()
    step("session and processor")
    handler = mangum.Mangum(app, lifespan="off")
    response = handler(json.loads(Path(event_path).read_text(encoding="utf-8")), lambda_context())
    assert response["statusCode"] == 200, response["body"][:300]
    step("first request")
    timings["total_ms"] = (time.perf_counter() - STARTED) * 1000
    return timings


if __name__ == "__main__":
    kind, model, event_file = sys.argv[1:4]
    if kind == "modelrail":
        timings = modelrail(event_file)
    elif kind == "serial":
        timings = serial(event_file)
    else:
        timings = raw(model, framework=kind == "raw+framework", tuned=kind == "raw+tuned")
    timings["peak_rss_mb"] = peak_rss_mb()
    sys.stdout.write("BENCH " + json.dumps(timings) + "\n")
