"""One SnapStart snapshot process for bench/snapstart_restore.py. Not meant to be run by hand.

Runs a SnapStart init (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``: import handler.py, which loads and primes the
model), the before-snapshot hooks, then restores ``RESTORES`` environments one after another by ``os.fork()``, as
local mode does: each runs the after-restore hooks and answers the event once. Prints one JSON line of timings.
"""

import time

STARTED = time.perf_counter()

import json  # noqa: E402 - timing starts before any import
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

RESTORES = 3


def lambda_context() -> object:
    import types

    return types.SimpleNamespace(
        aws_request_id="bench",
        function_name="bench",
        memory_limit_in_mb=2048,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
        get_remaining_time_in_millis=lambda: 15000,
    )


def restore_once(event: dict[str, object]) -> dict[str, float]:
    """Fork one environment; it runs the after-restore hooks and answers ``event``; returns its timings."""
    from modelrail.local.snapshot import run_after_restore

    read_end, write_end = os.pipe()
    sys.stdout.flush()
    forked = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        child_started = time.perf_counter()
        run_after_restore()
        restored = time.perf_counter()
        import handler

        response = handler.handler(event, lambda_context())
        answered = time.perf_counter()
        ok = response["statusCode"] == 200
        timings = {
            "fork_ms": (child_started - forked) * 1000,
            "restore_ms": (restored - forked) * 1000,
            "first_answer_ms": (answered - restored) * 1000,
            "total_ms": (answered - forked) * 1000,
            "ok": ok,
        }
        os.write(write_end, json.dumps(timings).encode())
        os._exit(0)  # as Lambda ends an environment: no interpreter exit in a fork
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        data = stream.read()
    os.waitpid(pid, 0)
    timings = json.loads(data)
    if not timings.pop("ok"):
        raise SystemExit("a restored environment did not answer 200")
    return timings


def main() -> None:
    os.environ["AWS_LAMBDA_INITIALIZATION_TYPE"] = "snap-start"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions" / "lambda_inference"))
    import handler  # noqa: F401 - the SnapStart init: the model is loaded and primed here

    initialized = time.perf_counter()
    from modelrail.local.snapshot import run_before_snapshot

    run_before_snapshot()
    event = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    restores = [restore_once(event) for _ in range(RESTORES)]
    result = {"init_ms": (initialized - STARTED) * 1000, "restores": restores}
    sys.stdout.write("BENCH " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
