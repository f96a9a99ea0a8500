"""Local mode under concurrency, as Lambda behaves (SPEC "Local mode"): a model runs concurrent environments up to
its concurrency, a slow request holds up no one else, a crash ends only its own environment, and bodies are sized
in bytes. minilm, the real handler, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

PREDICT = "/v1/models/minilm/predict"
WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "near", "the", "river", "bank")


def texts(count: int, *, start: int = 0) -> list[str]:
    """Long texts (the model truncates them at 256 word-pieces), different from each other."""
    return [" ".join(WORDS[(index + k) % len(WORDS)] for k in range(200)) for index in range(start, start + count)]


def minilm_environments(stack: LocalStack) -> list[int]:
    """Pids of minilm's runtime processes, children of ``local up``."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if parent == stack.pid and b"modelrail.local.lambda_runtime" in argv and b"minilm" in argv:
            found.append(int(entry.name))
    return found


async def predict(client: httpx.AsyncClient, instances: list[str], *, after_s: float = 0.0) -> tuple[int, float]:
    """Status and the moment the answer came (perf_counter)."""
    await asyncio.sleep(after_s)
    response = await client.post(PREDICT, json={"instances": instances})
    return response.status_code, time.perf_counter()


def client(stack: LocalStack) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.url, headers={"x-api-key": stack.api_key}, timeout=60)


def test_a_slow_request_does_not_hold_up_the_fast_ones_sent_meanwhile(local_stack: LocalStack) -> None:
    async def run() -> tuple[tuple[int, float], list[tuple[int, float]]]:
        async with client(local_stack) as http:
            # Warm a few environments first, so the fast requests below meet warm ones, not cold starts.
            assert {status for status, _ in await asyncio.gather(*(predict(http, ["hi"]) for _ in range(4)))} == {200}
            slow = asyncio.create_task(predict(http, texts(60)))
            fast = await asyncio.gather(*(predict(http, [f"fast {n}"], after_s=0.3) for n in range(3)))
            return await slow, fast

    (slow_status, slow_done), fast = asyncio.run(run())
    assert slow_status == 200
    assert [status for status, _ in fast] == [200, 200, 200]
    # One environment would have queued them behind the slow one; their own environments answer them first.
    assert all(done < slow_done for _, done in fast)


def test_kill_9_of_one_environment_fails_only_its_own_request(local_stack: LocalStack) -> None:
    async def warm() -> None:
        async with client(local_stack) as http:
            await asyncio.gather(*(predict(http, ["warm"]) for _ in range(2)))

    asyncio.run(warm())
    environments = minilm_environments(local_stack)
    assert len(environments) >= 2

    async def run() -> list[int]:
        async with client(local_stack) as http:
            # As many requests as idle environments: each takes one of its own.
            calls = [asyncio.create_task(predict(http, texts(30, start=n))) for n in range(len(environments))]
            await asyncio.sleep(1.0)
            os.kill(environments[0], signal.SIGKILL)
            statuses = [status for status, _ in await asyncio.gather(*calls)]
            statuses.append((await predict(http, ["after the kill"]))[0])
            return statuses

    statuses = asyncio.run(run())
    assert sorted(statuses[:-1]) == [200] * (len(environments) - 1) + [502]
    assert statuses[-1] == 200
    assert environments[0] not in minilm_environments(local_stack)
    assert "Runtime exited without providing a reason" in local_stack.log.read_text(encoding="utf-8")


def test_a_2_38_mb_body_of_non_ascii_text_is_accepted(local_stack: LocalStack) -> None:
    # 2.38 MB of UTF-8, inside Lambda's 6 MB; 6.6 MB had each character been counted as a \\uXXXX escape.
    # 79,200 characters each, under minilm's max_chars; one long word, so tokenizing it is quick
    instances = ["Привет" * 13200] * 15
    body = json.dumps({"instances": instances}, ensure_ascii=False).encode("utf-8")
    assert 2_300_000 < len(body) < 2_400_000
    with httpx.Client(base_url=local_stack.url, headers={"x-api-key": local_stack.api_key}, timeout=60) as http:
        response = http.post(PREDICT, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text[:500]
    predictions = response.json()["predictions"]
    assert len(predictions) == 15
    assert all(len(vector) == 384 for vector in predictions)
