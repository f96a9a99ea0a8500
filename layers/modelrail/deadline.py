"""Deadlines for fetching a model, derived from the function's own limits.

A Lambda function ends at its timeout, and a function answered by a timeout is API Gateway's 502: the fetch
must give up first, so the caller gets a 503 with ``Retry-After`` it can act on. The numbers:

- Lambda's Init phase "is limited to 10 seconds. If all three tasks do not complete within 10 seconds,
  Lambda retries the Init phase at the time of the first function invocation with the configured function
  timeout" (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html). The fetch starts
  in a background thread during init, so init itself never waits for S3; the first invocation follows init
  and has the whole function timeout of its own.
- Each request's own deadline comes from the Lambda context's ``get_remaining_time_in_millis()``
  ("the number of milliseconds left before the execution times out",
  https://docs.aws.amazon.com/lambda/latest/dg/python-context.html), less the time the rest of the request
  needs once the files are in (building the session, the first inference, the answer).
- Per-call S3 timeouts follow S3's guidance for latency-sensitive readers: retry a GET that has not answered
  in about 2 seconds, backing off ("Timeouts and Retries for Latency-Sensitive Applications",
  https://docs.aws.amazon.com/whitepapers/latest/s3-optimizing-performance-best-practices/welcome.html).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

LAMBDA_INIT_LIMIT_S = 10.0
"""Lambda's Init phase limit for on-demand functions (see the module docstring)."""
DEFAULT_FETCH_BUDGET_S = 60.0
"""Where no function timeout is known (a long-running server such as the SageMaker container)."""
MIN_RESERVE_S = 2.0
"""At least this much of a function's timeout is left for what follows the fetch."""
RESERVE_SHARE = 0.25
"""...or this share of the timeout, whichever is more (but never more than half of it)."""


def after_fetch_reserve_s(timeout_s: float) -> float:
    """Seconds of a ``timeout_s`` function left for the session build, the first inference and the answer."""
    return max(RESERVE_SHARE * timeout_s, min(MIN_RESERVE_S, timeout_s / 2))


def fetch_budget_s(timeout_s: float | None) -> float:
    """How long one request may spend fetching the model: the function timeout less the reserve."""
    if timeout_s is None:
        return DEFAULT_FETCH_BUDGET_S
    return timeout_s - after_fetch_reserve_s(timeout_s)


def s3_timeouts_s(budget_s: float) -> tuple[float, float]:
    """``(connect, read)`` timeouts of one S3 call: about 2 s as S3 advises, and several attempts per budget."""
    return min(2.0, max(0.5, budget_s / 6)), min(5.0, max(1.0, budget_s / 3))


@dataclass(frozen=True)
class Deadline:
    """A point on the monotonic clock."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """``seconds`` from now (never negative)."""
        return cls(time.monotonic() + max(0.0, seconds))

    def remaining(self) -> float:
        """Seconds left, 0 once past."""
        return max(0.0, self.at - time.monotonic())

    @property
    def expired(self) -> bool:
        """Whether it has passed."""
        return time.monotonic() >= self.at

    def sooner(self, other: Deadline | None) -> Deadline:
        """The earlier of two deadlines."""
        return self if other is None or self.at <= other.at else other
