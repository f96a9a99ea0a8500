"""A model's releases in local mode: the ``live`` alias for unversioned routes, the pinned routes of each version.

As in the stack (``modelrail.contract.releases``): a CPU model's function versions are separate functions here,
one per default version (the live one, and the canary's while it takes a share); the alias picks one per
unversioned request by the canary's weight, and pinned requests go to the current one, which serves every
version. A GPU model has one container per served version (SageMaker's production variants): unversioned
requests are split by the variants' weights, pinned ones reach their own variant (``TargetVariant``). The pick
uses a seedable RNG, so a test or a demo can replay the same sequence.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import TypeVar

from modelrail.local.cli import CANARY_SEED_ENV as SEED_ENV
from modelrail.local.events import HttpRequest, ProxyResponse
from modelrail.local.gateway import Integration
from modelrail.local.lambda_integration import RequestContext
from modelrail.local.routing import RouteMatch

__all__ = ["SEED_ENV", "ReleaseIntegration", "model_rng", "weighted_pick"]

T = TypeVar("T")


def model_rng(seed: str | None, model: str) -> random.Random:
    """One model's RNG: seeded per model, so one model's traffic never shifts another's sequence."""
    return random.Random(f"{seed}:{model}") if seed is not None else random.Random()  # noqa: S311  # nosec B311 # traffic split, not security


def weighted_pick(weighted: Sequence[tuple[T, int]], rng: random.Random) -> T:
    """One of ``weighted`` (each with a weight > 0) drawn by weight: an unversioned request's function version or
    variant; no draw when only one takes traffic."""
    if len(weighted) == 1:
        return weighted[0][0]
    point = rng.randrange(sum(weight for _, weight in weighted))
    for choice, weight in weighted:
        if point < weight:
            return choice
        point -= weight
    raise AssertionError("unreachable: the point is below the weights' sum")


class ReleaseIntegration:
    """One model's routes: unversioned ones to a weighted pick, pinned ones to the integration of their version."""

    def __init__(
        self,
        *,
        weighted: Sequence[tuple[Integration, int]],
        pinned: Mapping[str, Integration],
        rng: random.Random,
    ) -> None:
        self.weighted = [(integration, weight) for integration, weight in weighted if weight > 0]
        if sum(weight for _, weight in self.weighted) != 100:
            raise ValueError(f"weights must sum to 100, got {[weight for _, weight in weighted]}")
        self.pinned = dict(pinned)
        self.rng = rng

    def pick(self) -> Integration:
        """The integration for one unversioned request."""
        return weighted_pick(self.weighted, self.rng)

    async def __call__(self, request: HttpRequest, match: RouteMatch, context: RequestContext) -> ProxyResponse:
        """Forward the request to the version's integration."""
        version = match.route.version
        target = self.pick() if version is None else self.pinned[version]
        return await target(request, match, context)
