"""The price arithmetic: Lambda's GB-seconds and requests, SageMaker's instance-hours, and where they cross.

Lambda bills each invocation's duration rounded up to the millisecond, times the memory in GB (1 GB = 1024 MB,
as the pricing page's examples compute it), plus a price per request. A SageMaker real-time endpoint bills every
instance-hour from creation to deletion, busy or idle, so its cost per request depends on how busy it is.
"""

from __future__ import annotations

import math

from modelrail.tune.prices import HOURS_PER_MONTH, InstancePrice, Prices

MB_PER_GB = 1024


def lambda_cost_per_request(duration_ms: float, memory_mb: int, prices: Prices, *, arch: str = "x86_64") -> float:
    """$ for one invocation of ``duration_ms`` (billed rounded up to 1 ms) at ``memory_mb``."""
    billed_s = math.ceil(duration_ms) / 1000
    gb = memory_mb / MB_PER_GB
    return billed_s * gb * prices.lambda_gb_second[arch] + prices.lambda_per_million_requests / 1e6


def lambda_cost_per_million(duration_ms: float, memory_mb: int, prices: Prices, *, arch: str = "x86_64") -> float:
    """$ per 1M invocations."""
    return lambda_cost_per_request(duration_ms, memory_mb, prices, arch=arch) * 1e6


def sagemaker_cost_per_million(instance: InstancePrice, throughput_rps: float, *, utilisation: float = 1.0) -> float:
    """$ per 1M requests on one instance serving ``throughput_rps`` flat out, busy ``utilisation`` of the time."""
    if throughput_rps <= 0 or not 0 < utilisation <= 1:
        raise ValueError("throughput must be positive and utilisation in (0, 1]")
    requests_per_hour = throughput_rps * 3600 * utilisation
    return instance.hourly / requests_per_hour * 1e6


def sagemaker_idle_per_month(instance: InstancePrice, *, instances: int = 1) -> float:
    """$ a month for an endpoint that serves nothing (Lambda's is 0 without provisioned concurrency)."""
    return instance.hourly * HOURS_PER_MONTH * instances


def break_even_rps(lambda_cost_per_request_usd: float, instance: InstancePrice, throughput_rps: float) -> float | None:
    """Requests per second above which one always-on instance costs less than Lambda, or ``None`` if never.

    The instance costs ``hourly`` whatever the rate; Lambda costs ``rate * cost per request``. They cross at
    ``hourly / 3600 / cost per request``, which only counts if one instance can serve that rate: past its
    throughput more instances are needed, and each costs no less per request than the first at full load.
    """
    if lambda_cost_per_request_usd <= 0:
        return None
    rate = instance.hourly / 3600 / lambda_cost_per_request_usd
    return rate if rate <= throughput_rps else None
