"""Real servers on loopback for functional tests: the app under uvicorn, moto's S3 server, built models."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serve(app: Any, *, lifespan: str = "off") -> Iterator[str]:
    """Run an ASGI app under uvicorn on a free loopback port; yields its base URL and stops it after."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan=lifespan, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 15 s")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def moto_s3() -> Iterator[str]:
    """moto's S3 in server mode on a free loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def built_artifact(name: str) -> Path:
    """``build/models/<name>/<version>``, building it first (as CI does before tests) when it is missing."""
    from modelrail.constants import BUILD_DIR, MANIFEST_JSON, MANIFEST_YAML, MODELS_DIR
    from modelrail.manifest import load_manifest

    manifest = load_manifest(ROOT / MODELS_DIR / name / MANIFEST_YAML)
    directory = ROOT / BUILD_DIR / name / manifest.version
    if not (directory / MANIFEST_JSON).is_file():
        from modelrail.builder.pipeline import build_models

        build_models([name], models_dir=ROOT / MODELS_DIR, build_dir=ROOT / BUILD_DIR)
    return directory
