"""The model bucket the start-up benches load from: moto's S3 server on loopback with bucket ``bench``, each
bundled model's built artifact uploaded as ``models/<name>/1/``, the environment a child process needs to load
it as a model function does, and the child run itself (``cold_start.py``, ``snapstart_restore.py``)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUCKET = "bench"
EVENTS = {"minilm": "minilm-predict.http-api-v2.json", "digits": "digits-predict.http-api-v2.json"}
"""A sample request per model (``events/``)."""
MEMORY_MB = {"minilm": 2048, "digits": 512}
"""The bundled manifests' ``deploy.memory_mb``."""


@dataclass(frozen=True)
class ModelBucket:
    """The running server's environment and its S3 client."""

    base_env: dict[str, str]
    s3: Any

    def upload(self, model: str) -> dict[str, str]:
        """Upload the model's built artifact; the model function's variables naming it (sha256 pinned)."""
        from tests.support.serving_servers import built_artifact

        artifact = built_artifact(model)
        prefix = f"models/{model}/1/"
        for path in artifact.iterdir():
            self.s3.put_object(Bucket=BUCKET, Key=prefix + path.name, Body=path.read_bytes())
        return {
            "MODELRAIL_MODEL_BUCKET": BUCKET,
            "MODELRAIL_MODEL_PREFIX": prefix,
            "MODELRAIL_MANIFEST_SHA256": hashlib.sha256((artifact / "manifest.json").read_bytes()).hexdigest(),
            "MODELRAIL_MODEL_NAME": model,
            "MODELRAIL_MODEL_VERSION": "1",
        }

    def child_env(self, model_env: dict[str, str], *, cache: str) -> dict[str, str]:
        """One child's whole environment: the server's, the model's, its own cache, the model's Lambda memory."""
        from modelrail import constants as c

        memory = MEMORY_MB[model_env["MODELRAIL_MODEL_NAME"]]
        return {
            **self.base_env,
            **model_env,
            "MODELRAIL_CACHE_DIR": cache,
            c.ENV_LAMBDA_FUNCTION_MEMORY_SIZE: str(memory),
        }


@contextmanager
def model_bucket() -> Iterator[ModelBucket]:
    """The server with an empty bucket, stopped on exit."""
    import boto3
    from moto.server import ThreadedMotoServer

    from modelrail import constants as c

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    base_env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}",
        c.ENV_LAMBDA_FUNCTION_NAME: "bench",
        "MODELRAIL_INTRA_OP_THREADS": "1",  # every side: what a 512-2048 MB function gets
        "MODELRAIL_LOG_LEVEL": "WARNING",
    }
    s3 = boto3.client(
        "s3",
        endpoint_url=base_env["AWS_ENDPOINT_URL_S3"],
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    s3.create_bucket(Bucket=BUCKET)
    try:
        yield ModelBucket(base_env, s3)
    finally:
        server.stop()


def bench_child(script: str, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Run ``bench/<script> ARGS`` in a fresh interpreter with ``env``; its last ``BENCH {json}`` line."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("BENCH ")]
    if result.returncode != 0 or not lines:
        raise SystemExit(f"{script} {args} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(lines[-1].removeprefix("BENCH ")))
