"""Local mode runs SnapStart's runtime hooks as the Python runtime interface client does: before-snapshot hooks in the
reverse order of registration, once, in the snapshot process; after-restore hooks in order, in each environment; a
hook that raises ends the snapshot (status 64) or the environment (status 65) instead of serving."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelrail.local.lambda_function import FunctionConfig, LambdaFunction

HANDLER = """
import os
from snapshot_restore_py import register_after_restore, register_before_snapshot

calls = []
register_before_snapshot(calls.append, "before 1")
register_before_snapshot(calls.append, "before 2")
register_after_restore(calls.append, "after 1")
register_after_restore(calls.append, "after 2")
if os.environ.get("FAIL") == "before":
    register_before_snapshot(lambda: 1 / 0)
if os.environ.get("FAIL") == "after":
    register_after_restore(lambda: 1 / 0)


def handler(event, context):
    return {"calls": calls, "init_type": os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE"), "pid": os.getpid()}
"""


def snapstart_function(tmp_path: Path, fail: str = "") -> LambdaFunction:
    code = tmp_path / "handler.py"
    code.write_text(HANDLER, encoding="utf-8")
    config = FunctionConfig(
        name="hooks", handler=f"{code}:handler", env={"FAIL": fail}, timeout_s=5.0, tmp_root=tmp_path, snapstart=True
    )
    return LambdaFunction(config, output=io.StringIO())


def invoke(function: LambdaFunction) -> tuple[dict[str, Any], str | None]:
    async def call() -> tuple[dict[str, Any], str | None]:
        async with httpx.AsyncClient() as client:
            invocation = await function.invoke({}, client=client)
        return json.loads(invocation.payload), invocation.function_error

    return asyncio.run(call())


def test_hooks_run_in_the_order_and_the_process_lambda_runs_them(tmp_path: Path) -> None:
    function = snapstart_function(tmp_path)
    try:
        function.start()
        function.wait_ready(60)
        answer, error = invoke(function)
    finally:
        function.close()
    assert error is None
    # Before the snapshot, last registered first; after the restore, in order; each exactly once.
    assert answer["calls"] == ["before 2", "before 1", "after 1", "after 2"]
    assert answer["init_type"] == "snap-start"
    assert function.snapshot is not None
    assert answer["pid"] != function.snapshot.pid


def test_a_failing_before_snapshot_hook_ends_the_snapshot_with_status_64(tmp_path: Path) -> None:
    function = snapstart_function(tmp_path, "before")
    try:
        function.start()
        with pytest.raises(RuntimeError, match="status 64"):
            function.wait_ready(60)
        document, error = invoke(function)  # no environment can be restored from it
        assert function.snapshot is not None
        assert function.snapshot.returncode() == 64
    finally:
        function.close()
    assert error == "Unhandled"
    assert document["errorType"] == "Runtime.ExitError"


def test_a_failing_after_restore_hook_ends_that_environment_before_it_serves(tmp_path: Path) -> None:
    function = snapstart_function(tmp_path, "after")
    output = function.output
    try:
        function.start()
        with pytest.raises(RuntimeError, match="ended before it was restored"):
            function.wait_ready(60)
        document, error = invoke(function)  # the next event tries another restore, which fails the same way
        assert function.snapshot is not None
        assert function.snapshot.alive()
    finally:
        function.close()
    assert error == "Unhandled"
    assert document["errorType"] == "Runtime.ExitError"
    assert isinstance(output, io.StringIO)
    assert "ZeroDivisionError" in output.getvalue()
