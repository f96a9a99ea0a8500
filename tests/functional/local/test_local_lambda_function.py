"""A function's runtime process: one event at a time through the handler, errors and timeouts as Lambda has them."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import httpx
import pytest

from modelrail.local.events import HttpRequest, build_proxy_event
from modelrail.local.lambda_function import FunctionConfig, Invocation, LambdaFunction


def invoke(function: LambdaFunction, path: str, **kwargs: Any) -> Invocation:
    event = build_proxy_event(HttpRequest("GET", path), resource=path)

    async def call() -> Invocation:
        async with httpx.AsyncClient() as client:
            return await function.invoke(event, client=client, **kwargs)

    return asyncio.run(call())


def answer(invocation: Invocation) -> dict[str, Any]:
    assert invocation.function_error is None, invocation.payload
    response = json.loads(invocation.payload)
    document: dict[str, Any] = json.loads(response["body"])
    return document


def test_handler_gets_the_event_a_context_and_only_its_own_env(standin_function: LambdaFunction) -> None:
    document = answer(invoke(standin_function, "/echo"))
    assert document["event"]["path"] == "/echo"
    assert document["event"]["requestContext"]["resourcePath"] == "/echo"
    assert document["context"]["function_name"] == "standin"
    assert document["context"]["memory"] == 512
    assert 0 < document["context"]["remaining_ms"] <= 2000
    assert document["env"]["MODELRAIL_MODEL_NAME"] == "standin"
    assert document["env"]["STANDIN_FLAG"] == "1"
    assert "PYTEST_CURRENT_TEST" not in document["env"]
    assert document["pid"] == standin_function.pid != os.getpid()
    assert standin_function.init_ms is not None
    assert standin_function.init_ms > 0


def test_environment_is_reused_between_invocations(standin_function: LambdaFunction) -> None:
    first = answer(invoke(standin_function, "/echo"))
    second = answer(invoke(standin_function, "/echo"))
    assert first["init_id"] == second["init_id"]
    assert first["context"]["request_id"] != second["context"]["request_id"]


def test_handler_exception_is_an_unhandled_function_error_and_the_environment_survives(
    standin_function: LambdaFunction,
) -> None:
    failed = invoke(standin_function, "/raise")
    assert failed.function_error == "Unhandled"
    error = json.loads(failed.payload)
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "boom"
    assert error["stackTrace"]
    before = standin_function.pid
    answer(invoke(standin_function, "/echo"))
    assert standin_function.pid == before


def test_timeout_ends_the_environment_and_the_next_event_gets_a_fresh_one(standin_function: LambdaFunction) -> None:
    first = answer(invoke(standin_function, "/echo"))
    timed_out = invoke(standin_function, "/sleep")
    assert timed_out.timed_out
    assert timed_out.function_error == "Unhandled"
    assert json.loads(timed_out.payload)["errorMessage"] == "Task timed out after 2.00 seconds"
    fresh = answer(invoke(standin_function, "/echo"))
    assert fresh["init_id"] != first["init_id"]
    assert fresh["pid"] != first["pid"]


def test_a_crashed_runtime_is_replaced_on_the_next_event(standin_function: LambdaFunction) -> None:
    crashed = invoke(standin_function, "/exit")
    assert crashed.function_error == "Unhandled"
    assert json.loads(crashed.payload)["errorType"] == "Runtime.ExitError"
    assert answer(invoke(standin_function, "/echo"))["event"]["path"] == "/echo"


def test_response_over_lambdas_6_mb_is_a_function_error(standin_function: LambdaFunction) -> None:
    failed = invoke(standin_function, "/big")
    assert failed.function_error == "Unhandled"
    assert json.loads(failed.payload)["errorType"] == "Function.ResponseSizeTooLarge"


def test_failed_init_is_reported_on_each_invocation(standin_handler: str) -> None:
    function = LambdaFunction(
        FunctionConfig(name="broken", handler=standin_handler, env={"STANDIN_FAIL_INIT": "1"}, timeout_s=5)
    )
    function.start()
    try:
        function.wait_ready(30)
        for _ in range(2):
            failed = invoke(function, "/echo")
            assert failed.function_error == "Unhandled"
            error = json.loads(failed.payload)
            assert error["errorType"].startswith("Runtime.ImportModuleError")
            assert error["errorMessage"] == "init failed on purpose"
    finally:
        function.close()


def test_a_handler_spec_that_is_not_a_file_function_pair_is_refused(tmp_path: Any) -> None:
    function = LambdaFunction(FunctionConfig(name="bad", handler=str(tmp_path / "nothing.py") + ":handler"))
    function.start()
    try:
        function.wait_ready(30)
        failed = invoke(function, "/echo")
        assert failed.function_error == "Unhandled"
        assert "Runtime.ImportModuleError" in json.loads(failed.payload)["errorType"]
    finally:
        function.close()


def test_stopped_function_leaves_no_process(standin_handler: str) -> None:
    function = LambdaFunction(FunctionConfig(name="gone", handler=standin_handler))
    function.start()
    function.wait_ready(30)
    pid = function.pid
    assert pid is not None
    function.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
