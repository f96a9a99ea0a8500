"""Whether each deployed model can answer: a Lambda function can once deployed; a SageMaker endpoint while its
``DescribeEndpoint`` status is one of ``SERVING_STATUSES`` (asked with ``DescribeEndpoint``, cached for
``READY_CACHE_S``).

What each ``EndpointStatus`` means, from the SageMaker API reference ("DescribeEndpoint", EndpointStatus;
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html, the same text in botocore's
service model):

- ``InService``: "Endpoint is available to process incoming requests."
- ``Updating``: "UpdateEndpoint or UpdateEndpointWeightsAndCapacities is executing", i.e. every deploy and every
  autoscaling action. UpdateEndpoint "deploys the EndpointConfig specified in the request to a new fleet of
  instances. SageMaker shifts endpoint traffic to the new instances ... and then deletes the old instances ...
  (there is no availability loss)" (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html).
- ``SystemUpdating``: maintenance that "does not change any customer-specified values such as VPC config, KMS
  encryption, model, instance type, or instance count"; the endpoint only "cannot be updated or deleted or
  re-scaled until it has completed".
- ``RollingBack``: a scale up/down or weight change failed and the endpoint returns to its previous
  configuration, after which it "returns to an InService status"; it only applies to capacity and weight changes of
  an endpoint already serving.
- ``UpdateRollbackFailed``: "Your endpoint is in service with a mix of the old and new endpoint configurations."
- Not serving: ``OutOfService`` ("not available to take incoming requests"), ``Creating``, ``Deleting``,
  ``Failed`` ("DeleteEndpoint is the only operation that can be performed on a failed endpoint").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Final

from modelrail.contract.catalog_entry import CatalogEntry
from modelrail.logs import get_logger

READY_CACHE_S = 15.0

log = get_logger("catalog")

SERVING_STATUSES: Final = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"})
"""``EndpointStatus`` values in which the endpoint still serves ``InvokeEndpoint`` (see the module docstring)."""

ReadyProbe = Callable[[str], tuple[bool, str]]
"""endpoint name -> (ready, status text)."""


def is_serving(status: str) -> bool:
    """Whether an endpoint in this ``EndpointStatus`` answers ``InvokeEndpoint``."""
    return status in SERVING_STATUSES


def describe_endpoint_probe(client: Any = None) -> ReadyProbe:
    """Ask SageMaker whether an endpoint is serving (boto3 is part of the Lambda runtime); ``client`` is a
    ``sagemaker`` client to use instead of a new one."""
    if client is None:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2})
        client = boto3.client("sagemaker", config=config)

    def probe(endpoint: str) -> tuple[bool, str]:
        try:
            status = str(client.describe_endpoint(EndpointName=endpoint)["EndpointStatus"])
        except Exception as exc:  # an unreachable endpoint is "not ready", never a failed catalog
            log.warning("describe_endpoint failed", extra={"endpoint": endpoint, "error": type(exc).__name__})
            return False, f"status unknown ({type(exc).__name__})"
        return is_serving(status), status

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
