"""What the local gateway adds to a request, against calling the function's invoke API directly.

One deployment of ``digits`` (the smallest model, so the model's own time does not hide the gateway's), warm.
Baseline: the same REST proxy event POSTed straight to the function's runtime (what ``modelrail invoke`` does).
Gateway: the HTTP request to ``modelrail local up``'s gateway (route match, key check, event build, invoke,
response decode). Both over loopback HTTP with a keep-alive client, interleaved so they share any load.

    .venv/bin/python bench/local_gateway.py [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modelrail.local.artifacts import resolve_models  # noqa: E402
from modelrail.local.deployment import LocalDeployment  # noqa: E402
from modelrail.local.events import HttpRequest, build_proxy_event  # noqa: E402
from modelrail.local.gateway import Gateway  # noqa: E402
from modelrail.local.processes import bind_loopback  # noqa: E402
from modelrail.local.threaded_server import ThreadedServer  # noqa: E402

PATH = "/v2/models/digits/infer"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    body = json.loads((ROOT / "events" / "digits-infer.rest-v1.json").read_text())["body"].encode()
    headers = [("Content-Type", "application/json"), ("Host", "127.0.0.1")]
    models = resolve_models(["digits"], models_dir=ROOT / "models", build_dir=ROOT / "build" / "models", say=print)
    deployment = LocalDeployment(
        models, root=ROOT, catalog_manifests=[m.manifest for m in models], output=io.StringIO()
    )
    deployment.start()
    sock = bind_loopback()
    port = sock.getsockname()[1]
    gateway = Gateway(
        deployment.route_table(), deployment.integrations(), api_key=None, port=port, output=io.StringIO()
    )
    server = ThreadedServer(gateway, sock)
    server.start()
    function = deployment.functions["digits"]
    event = json.dumps(build_proxy_event(HttpRequest("POST", PATH, headers=headers, body=body), resource=PATH))

    async def run() -> tuple[list[float], list[float]]:
        direct: list[float] = []
        through: list[float] = []
        async with httpx.AsyncClient() as client:
            for index in range(args.requests + 20):
                started = time.perf_counter()
                response = await client.post(f"http://127.0.0.1:{port}{PATH}", content=body, headers=dict(headers))
                gateway_ms = (time.perf_counter() - started) * 1000
                started = time.perf_counter()
                invocation = await client.post(function.environments[0].url, content=event)
                direct_ms = (time.perf_counter() - started) * 1000
                assert json.loads(invocation.content)["statusCode"] == 200
                assert response.status_code == 200
                if index >= 20:  # warm-up
                    direct.append(direct_ms)
                    through.append(gateway_ms)
        return direct, through

    try:
        direct, through = asyncio.run(run())
    finally:
        server.stop()
        deployment.stop()
    for label, values in (("invoke API directly", direct), ("through the gateway", through)):
        print(f"{label:>20}: p50 {statistics.median(values):.2f} ms  p99 {percentile(values, 0.99):.2f} ms")
    print(
        f"gateway p50 overhead: {statistics.median(through) - statistics.median(direct):.2f} ms "
        f"(ratio {statistics.median(through) / statistics.median(direct):.2f}x), n={len(direct)}"
    )


if __name__ == "__main__":
    main()
