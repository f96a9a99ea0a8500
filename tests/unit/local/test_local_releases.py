"""The release plan (who answers unversioned traffic, with what weight) and local mode's alias over it."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from modelrail.contract.releases import ReleasePlan, release_plan
from modelrail.local.events import HttpRequest, ProxyResponse
from modelrail.local.releases import ReleaseIntegration, model_rng
from modelrail.manifest import parse_manifest
from modelrail.routes import model_routes

TINY: dict[str, Any] = {
    "name": "tiny",
    "version": "2",
    "task": "tensor",
    "source": "model.onnx",
    "quantization": "none",
}


def plan(**releases: Any) -> ReleasePlan:
    return release_plan(parse_manifest({**TINY, "deploy": {"releases": releases}}))


def test_without_releases_the_manifests_version_takes_everything() -> None:
    alone = release_plan(parse_manifest(TINY))
    assert (alone.served, alone.live, alone.current_default, alone.splits) == (("2",), "2", "2", False)
    assert alone.weights() == {"2": 100}


def test_a_canary_with_a_share_is_the_current_default_and_takes_its_percent() -> None:
    canary = plan(served=["1", "2"], live="1", canary={"version": "2", "percent": 25, "bake_minutes": 30})
    assert (canary.current_default, canary.splits, canary.bake_minutes) == ("2", True, 30)
    assert canary.weights() == {"1": 75, "2": 25}


def test_a_zero_percent_canary_leaves_the_live_version_the_default() -> None:
    idle = plan(served=["1", "2", "3"], live="1", canary={"version": "3", "percent": 0})
    assert (idle.current_default, idle.splits) == ("1", False)
    assert idle.weights() == {"1": 100, "2": 0, "3": 0}


class Named:
    """An integration that answers with its own name."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, request: HttpRequest, match: Any, context: Any) -> ProxyResponse:
        del request, match, context
        return ProxyResponse(200, [], self.name.encode())


def calls(integration: ReleaseIntegration, path: str, count: int) -> Counter[str]:
    routes = {route.path: route for route in model_routes("tiny", versions=["1", "2"]) if route.method == "POST"}
    match = type("Match", (), {"route": routes[path]})()

    async def run() -> Counter[str]:
        answers = [await integration(HttpRequest("POST", path), match, None) for _ in range(count)]  # type: ignore[arg-type]
        return Counter(answer.body.decode() for answer in answers)

    return asyncio.run(run())


def alias(percent: int, seed: str | None = "7") -> ReleaseIntegration:
    live, canary = Named("live"), Named("canary")
    return ReleaseIntegration(
        weighted=[(live, 100 - percent), (canary, percent)],
        pinned={"1": Named("pinned-1"), "2": Named("pinned-2")},
        rng=model_rng(seed, "tiny"),
    )


def test_unversioned_requests_follow_the_weights_and_a_seed_replays_them() -> None:
    split = calls(alias(30), "/v2/models/tiny/infer", 1000)
    assert set(split) == {"live", "canary"}
    assert 240 <= split["canary"] <= 360  # 30% of 1000, 99.9% binomial bounds are about 252..348
    one, other = alias(50), alias(50)
    assert [one.pick() is one.weighted[0][0] for _ in range(50)] == [
        other.pick() is other.weighted[0][0] for _ in range(50)
    ]


def test_zero_percent_never_reaches_the_canary_and_pinned_routes_reach_their_version() -> None:
    assert calls(alias(0), "/v2/models/tiny/infer", 200) == Counter({"live": 200})
    assert calls(alias(50), "/v2/models/tiny/versions/1/infer", 20) == Counter({"pinned-1": 20})
    assert calls(alias(50), "/v2/models/tiny/versions/2/infer", 20) == Counter({"pinned-2": 20})


def test_weights_must_sum_to_100() -> None:
    with pytest.raises(ValueError, match="sum to 100"):
        ReleaseIntegration(weighted=[(Named("a"), 60), (Named("b"), 60)], pinned={}, rng=model_rng(None, "x"))


def test_the_readmes_release_example_is_valid_for_digits() -> None:
    """README, "Release a new model version": models/digits/model.yaml at version 2 plus its `releases:` block."""
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[3]
    section = (root / "README.md").read_text(encoding="utf-8").split("## Release a new model version", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    text = (
        (root / "models" / "digits" / "model.yaml").read_text(encoding="utf-8").replace('version: "1"', 'version: "2"')
    )
    readme = release_plan(parse_manifest(yaml.safe_load(text + block)))
    assert readme == ReleasePlan(served=("1", "2"), live="1", canary="2", percent=10, bake_minutes=10)
    assert readme.weights() == {"1": 90, "2": 10}
