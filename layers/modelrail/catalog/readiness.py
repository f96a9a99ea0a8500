"""Whether each deployed model can answer: a Lambda function can once deployed; a SageMaker endpoint only while
``InService`` (asked with ``DescribeEndpoint``, cached for ``READY_CACHE_S``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from modelrail.contract.catalog_entry import CatalogEntry
from modelrail.logs import get_logger

READY_CACHE_S = 15.0

log = get_logger("catalog")

ReadyProbe = Callable[[str], tuple[bool, str]]
"""endpoint name -> (ready, status text)."""


def describe_endpoint_probe() -> ReadyProbe:
    """Ask SageMaker whether an endpoint is ``InService`` (boto3 is part of the Lambda runtime)."""
    import boto3
    from botocore.config import Config

    client = boto3.client("sagemaker", config=Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2}))

    def probe(endpoint: str) -> tuple[bool, str]:
        try:
            status = str(client.describe_endpoint(EndpointName=endpoint)["EndpointStatus"])
        except Exception as exc:  # an unreachable endpoint is "not ready", never a failed catalog
            log.warning("describe_endpoint failed", extra={"endpoint": endpoint, "error": type(exc).__name__})
            return False, f"status unknown ({type(exc).__name__})"
        return status == "InService", status

    return probe


class Readiness:
    """Per-endpoint readiness, cached so a burst of catalog calls makes one SageMaker call per endpoint."""

    def __init__(self, probe_factory: Callable[[], ReadyProbe], *, ttl_s: float = READY_CACHE_S) -> None:
        self._factory = probe_factory
        self._probe: ReadyProbe | None = None
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, bool, str]] = {}
        self._lock = threading.Lock()

    def check(self, entry: CatalogEntry) -> tuple[bool, str]:
        """Whether the entry's compute can answer now, and why not."""
        if entry.endpoint is None:
            return True, "deployed"
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(entry.endpoint)
            if cached is not None and now - cached[0] < self._ttl_s:
                return cached[1], cached[2]
            if self._probe is None:
                self._probe = self._factory()
            ready, status = self._probe(entry.endpoint)
            self._cache[entry.endpoint] = (now, ready, status)
            return ready, status
