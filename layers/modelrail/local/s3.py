"""The embedded S3-compatible server (moto's server mode) that local mode's functions load their models from."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from modelrail import constants as c
from modelrail.local.processes import LOOPBACK
from modelrail.push import Progress, PushedArtifact, push_artifact

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer
    from mypy_boto3_s3 import S3Client

    from modelrail.store.artifact import Artifact

LOCAL_BUCKET_PREFIX = "modelrail-local-"
LOCAL_REGION = "us-east-1"
FAKE_CREDENTIALS: Mapping[str, str] = {
    "AWS_ACCESS_KEY_ID": "modelrail-local",
    "AWS_SECRET_ACCESS_KEY": "modelrail-local",  # nosec B105 # a placeholder that no AWS account accepts
    "AWS_SESSION_TOKEN": "modelrail-local",  # nosec B105 # a placeholder that no AWS account accepts
}
"""What every local process gets instead of real credentials, so nothing can reach a real AWS account."""


class EmbeddedS3:
    """moto's S3 server on a free loopback port, holding one bucket of built artifacts."""

    def __init__(self, bucket: str | None = None) -> None:
        # moto keeps its data per process: a fresh name keeps two servers in one process apart.
        self.bucket = bucket or f"{LOCAL_BUCKET_PREFIX}{uuid.uuid4().hex[:12]}"
        self._server: ThreadedMotoServer | None = None
        self._endpoint: str | None = None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self._endpoint is None:
            raise RuntimeError("the embedded S3 server is not running")
        return self._endpoint

    def env(self) -> dict[str, str]:
        """What a process needs to use this server through plain boto3, as a function uses S3 in the cloud."""
        return {
            c.ENV_S3_ENDPOINT_URL: self.endpoint_url,
            "AWS_REGION": LOCAL_REGION,
            "AWS_DEFAULT_REGION": LOCAL_REGION,
            **FAKE_CREDENTIALS,
        }

    def start(self) -> EmbeddedS3:
        """Start the server and create the bucket."""
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request at INFO; a cold start's downloads are not news.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self._endpoint = f"http://{host}:{port}"
        self.client().create_bucket(Bucket=self.bucket)
        return self

    def client(self) -> S3Client:
        """A boto3 S3 client for this server, with the fake credentials (the caller's own are never used)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=LOCAL_REGION,
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
        )

    def seed(self, artifacts: Iterable[Artifact], *, progress: Progress | None = None) -> list[PushedArtifact]:
        """Upload artifacts with the same code ``modelrail push`` uses for a real bucket."""
        client = self.client()
        return [
            push_artifact(client, bucket=self.bucket, artifact=artifact, progress=progress) for artifact in artifacts
        ]

    def download_prefix(self, prefix: str, destination: Path) -> int:
        """Copy every object under ``prefix`` into ``destination``, as SageMaker fills /opt/ml/model; returns bytes."""
        client = self.client()
        total = 0
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                relative = item["Key"][len(prefix) :]
                if not relative or relative.startswith("/") or ".." in Path(relative).parts:
                    continue  # never write outside the model directory
                target = destination / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                client.download_file(self.bucket, item["Key"], str(target))
                total += int(item.get("Size", 0))
        return total

    def stop(self) -> None:
        """Stop the server (its data is gone)."""
        server, self._server, self._endpoint = self._server, None, None
        if server is not None:
            server.stop()

    def __enter__(self) -> EmbeddedS3:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
