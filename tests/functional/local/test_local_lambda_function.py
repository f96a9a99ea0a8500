"""A function's runtime process: one event at a time through the handler, errors and timeouts as Lambda has them."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelrail.local.events import HttpRequest, build_proxy_event
from modelrail.local.lambda_function import FunctionConfig, Invocation, LambdaFunction
from tests.support.local_standins import start_standin_function


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


def invoke_together(
    function: LambdaFunction, paths: list[str], *, delays: list[float] | None = None, kill_after_s: float | None = None
) -> list[Invocation]:
    """Send events at once (each after its delay), on one event loop as the gateway does; optionally kill -9 the
    oldest environment while they run."""

    async def call() -> list[Invocation]:
        async with httpx.AsyncClient() as client:

            async def one(path: str, delay: float) -> Invocation:
                await asyncio.sleep(delay)
                return await function.invoke(build_proxy_event(HttpRequest("GET", path), resource=path), client=client)

            async def kill() -> None:
                assert kill_after_s is not None
                await asyncio.sleep(kill_after_s)
                pid = function.pid
                assert pid is not None
                os.kill(pid, signal.SIGKILL)

            killer = asyncio.create_task(kill()) if kill_after_s is not None else None
            delays_s = delays or [0.0] * len(paths)
            results = await asyncio.gather(*(one(path, delay) for path, delay in zip(paths, delays_s, strict=True)))
            if killer is not None:
                await killer
            return list(results)

    return asyncio.run(call())


@pytest.fixture
def pooled(standin_handler: str, tmp_path: Path) -> Iterator[LambdaFunction]:
    """A stand-in function that may run two environments, each with its own /tmp under ``tmp_path``."""
    function = start_standin_function(standin_handler, concurrency=2, tmp_root=tmp_path)
    yield function
    function.close()


def test_time_waiting_for_the_busy_environment_does_not_count_against_the_timeout(
    standin_function: LambdaFunction,
) -> None:
    # One environment, 2 s timeout: the second 1.2 s event waits 1.2 s, then has its own 2 s.
    results = invoke_together(standin_function, ["/slow", "/slow", "/echo", "/echo"], delays=[0, 0, 0.2, 0.2])
    answers = [answer(result) for result in results]
    assert {document["pid"] for document in answers} == {standin_function.pid}


def test_concurrent_events_run_in_environments_of_their_own_up_to_the_concurrency(
    pooled: LambdaFunction, tmp_path: Path
) -> None:
    answers = [answer(result) for result in invoke_together(pooled, ["/slow"] * 4)]
    pids = {document["pid"] for document in answers}
    assert len(pids) == 2  # a second environment started on demand, and no third
    assert len({document["init_id"] for document in answers}) == 2  # each environment ran its own init
    tmp_dirs = {document["pid"]: document["env"]["TMPDIR"] for document in answers}
    assert len(set(tmp_dirs.values())) == 2
    assert all(Path(tmp).parent == tmp_path and Path(tmp).is_dir() for tmp in tmp_dirs.values())
    pooled.close()
    assert not list(tmp_path.iterdir()), "an environment's /tmp outlived it"


def test_a_timeout_ends_only_its_own_environment(pooled: LambdaFunction, tmp_path: Path) -> None:
    first = pooled.pid
    results = invoke_together(pooled, ["/sleep", "/echo", "/echo", "/echo"], delays=[0, 0.3, 0.4, 0.5])
    assert results[0].timed_out
    echoes = [answer(result) for result in results[1:]]
    survivors = [environment.pid for environment in pooled.environments]
    assert first not in survivors  # the timed-out environment is gone ...
    assert {document["pid"] for document in echoes} == set(survivors)  # ... the other served the rest, and lives
    assert answer(invoke(pooled, "/echo"))["pid"] in survivors
    assert not (tmp_path / "env-1").exists()  # the ended environment's /tmp went with it
    assert len(list(tmp_path.iterdir())) == len(survivors)


def test_kill_9_of_one_environment_fails_only_its_own_event(pooled: LambdaFunction) -> None:
    invoke_together(pooled, ["/slow", "/slow"])  # two warm environments
    assert len(pooled.environments) == 2
    killed = pooled.pid
    results = invoke_together(pooled, ["/slow", "/slow", "/echo"], delays=[0, 0, 0.3], kill_after_s=0.5)
    failed = [result for result in results if result.function_error]
    assert len(failed) == 1
    assert json.loads(failed[0].payload)["errorType"] == "Runtime.ExitError"
    assert all(answer(result)["pid"] != killed for result in results if not result.function_error)
    assert killed not in [environment.pid for environment in pooled.environments]
    assert answer(invoke(pooled, "/echo"))["pid"] != killed
