"""Local mode under concurrency, as issue 11 item 6 found it: does it behave like Lambda?

Starts ``modelrail local up minilm`` (minilm and the catalog) as a user does, then:
1. slow + fast: two 100-text predict requests sent together (a few seconds each against minilm's 15 s timeout,
   more on a loaded machine), then three one-text requests 0.5 s later;
2. kill -9: 16 predict requests of 20 texts in flight, and one of minilm's runtime processes killed after 2 s;
3. a 2.38 MB body of non-ASCII (Cyrillic) text, valid JSON, under API Gateway's 10 MB and Lambda's 6 MB;
4. Ctrl-C, then ``local up`` again at once on the same port (a keep-alive connection was open at the stop).
Prints each request's status and time. Timing varies with the machine; the statuses are the point.

    .venv/bin/python bench/local_concurrency.py
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modelrail.local.up import READY_PREFIX  # noqa: E402

PREDICT = "/v1/models/minilm/predict"
WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "near", "a", "local", "gateway")


def text(index: int, words: int = 200) -> str:
    """A long English text (truncated to 256 word-pieces by the model), different per index."""
    return " ".join(WORDS[(index + k) % len(WORDS)] for k in range(words))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(port: int, log: Path) -> tuple[subprocess.Popen[bytes], str | None]:
    """``modelrail local up minilm --port PORT``; the URL once ready, or None if it exited first."""
    sink = log.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "modelrail.cli", "local", "up", "minilm", "--port", str(port)],
        cwd=ROOT,
        stdout=sink,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    sink.close()
    pattern = re.compile(re.escape(READY_PREFIX) + r" (http://127\.0\.0\.1:\d+)")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = pattern.search(log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return process, found.group(1)
        if process.poll() is not None:
            return process, None
        time.sleep(0.2)
    raise SystemExit(f"not ready:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def runtimes(parent: int, function: str) -> list[int]:
    """Pids of ``function``'s runtime processes (children of ``local up``)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and b"modelrail.local.lambda_runtime" in argv and function.encode() in argv:
            found.append(int(entry.name))
    return sorted(found)


async def timed(client: httpx.AsyncClient, label: str, body: bytes) -> tuple[str, int, float]:
    started = time.perf_counter()
    response = await client.post(PREDICT, content=body, headers={"Content-Type": "application/json"})
    return label, response.status_code, time.perf_counter() - started


def body(texts: list[str]) -> bytes:
    return json.dumps({"instances": texts}, ensure_ascii=False).encode("utf-8")


async def slow_and_fast(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        slow = [
            asyncio.create_task(timed(client, f"100 texts #{n}", body([text(i) for i in range(100)]))) for n in (1, 2)
        ]
        await asyncio.sleep(0.5)
        fast = [asyncio.create_task(timed(client, f"1 text #{n}", body([text(n)]))) for n in (1, 2, 3)]
        for label, status, seconds in await asyncio.gather(*slow, *fast):
            print(f"  {label:<14} -> {status} in {seconds:.1f} s")


async def kill_under_load(url: str, parent: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        tasks = [asyncio.create_task(timed(client, f"#{n}", body([text(n + i) for i in range(20)]))) for n in range(16)]
        await asyncio.sleep(2.0)
        pids = runtimes(parent, "minilm")
        os.kill(pids[0], signal.SIGKILL)
        results = await asyncio.gather(*tasks)
    print(f"  minilm runtimes before the kill: {len(pids)}; killed {pids[0]}")
    print(f"  statuses of 16 requests: {dict(Counter(status for _, status, _ in results))}")


async def non_ascii(url: str) -> None:
    texts = ["Привет" * 13200] * 15  # 79,200 characters each (under max_chars), one word: quick to tokenize
    payload = body(texts)
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        _, status, seconds = await timed(client, "non-ASCII", payload)
    escaped = len(json.dumps({"instances": texts}).encode())
    print(
        f"  body {len(payload) / 1e6:.2f} MB ({escaped / 1e6:.2f} MB with \\u escapes) -> {status} in {seconds:.1f} s"
    )


def restart(url: str, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    with httpx.Client(base_url=url) as client:  # keep-alive: the gateway closes it at the stop (TIME-WAIT)
        client.get("/v2/health/live")
        stop(process)
    again, ready = start(port, log)
    try:
        if ready:
            print(f"  started again at once on port {port}: ready")
        else:
            lines = [line for line in log.read_text().splitlines() if "already in use" in line or "cannot" in line]
            print(f"  started again at once on port {port}: exited {again.returncode}: {lines[-1:]}")
    finally:
        if again.poll() is None:
            stop(again)


def main() -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "local-up.log"
        process, url = start(port, log)
        assert url is not None, log.read_text()[-3000:]
        try:
            print("1. two 100-text requests together, three 1-text requests 0.5 s later:")
            asyncio.run(slow_and_fast(url))
            print("2. kill -9 of one minilm environment with 16 requests in flight:")
            asyncio.run(kill_under_load(url, process.pid))
            print("3. 2.38 MB of non-ASCII text:")
            asyncio.run(non_ascii(url))
            print("4. Ctrl-C, then local up again at once on the same port:")
            restart(url, process, port, Path(scratch) / "again.log")
        finally:
            if process.poll() is None:
                stop(process)


if __name__ == "__main__":
    main()
