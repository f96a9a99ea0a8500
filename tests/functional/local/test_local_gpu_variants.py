"""A GPU model serving two versions in local mode: one container per version (SageMaker's production variants),
pinned routes reach their own variant, unversioned ones are split by the variants' weights, and every answer's
X-Modelrail-Model-Version comes from the container's custom attributes."""

from __future__ import annotations

import asyncio
import io
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from modelrail.constants import MODEL_VERSION_HEADER
from modelrail.local.deployment import LocalDeployment, LocalModel
from modelrail.local.events import HttpRequest, ProxyResponse
from modelrail.local.lambda_integration import RequestContext
from modelrail.manifest import parse_manifest
from modelrail.store.local_dir import load_local_dir
from tests.support.serving_artifacts import batch_coupled_model, tensor_artifact, write_artifact

ROOT = Path(__file__).resolve().parents[3]
BODY = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1.0, 2.0, 4.0]}]})


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    build = tmp_path_factory.mktemp("gpu-variants")
    one = tensor_artifact(build / "tiny" / "1", version="1", target="gpu")
    two = write_artifact(
        build / "tiny" / "2", name="tiny", task="tensor", model=batch_coupled_model(), version="2", target="gpu"
    )
    manifest = parse_manifest(
        {
            "name": "tiny",
            "version": "2",
            "task": "tensor",
            "source": "model.onnx",
            "quantization": "none",
            "deploy": {
                "target": "gpu",
                "releases": {"served": ["1", "2"], "live": "1", "canary": {"version": "2", "percent": 50}},
            },
        }
    )
    artifacts = {"1": load_local_dir(one, manifest_sha256=None), "2": load_local_dir(two, manifest_sha256=None)}
    started = LocalDeployment(
        [LocalModel(manifest=manifest, artifacts=artifacts)], root=ROOT, output=io.StringIO(), canary_seed="3"
    )
    started.start(warm=False)
    try:
        yield started
    finally:
        started.stop()


def call(deployment: LocalDeployment, path: str, count: int = 1) -> list[ProxyResponse]:
    match = deployment.route_table().match("POST", path)
    assert match is not None
    integration = deployment.integrations()["tiny"]

    async def run() -> list[ProxyResponse]:
        async with httpx.AsyncClient() as client:
            context = RequestContext(request_id="test", port=0, client=client)
            request = HttpRequest("POST", path, headers=[("Content-Type", "application/json")], body=BODY.encode())
            return [await integration(request, match, context) for _ in range(count)]

    return asyncio.run(run())


def version_of(answer: ProxyResponse) -> str:
    assert answer.status == 200, answer.body
    headers = {name.lower(): value for name, value in answer.headers}
    version: str = json.loads(answer.body)["model_version"]
    assert headers[MODEL_VERSION_HEADER.lower()] == version
    return version


def test_one_container_per_served_version(deployment: LocalDeployment) -> None:
    assert sorted(deployment.endpoints) == ["tiny", "tiny@2"]  # the live version's variant, then the others


def test_pinned_routes_reach_their_own_variant(deployment: LocalDeployment) -> None:
    for version in ("1", "2"):
        answers = call(deployment, f"/v2/models/tiny/versions/{version}/infer", 5)
        assert {version_of(answer) for answer in answers} == {version}


def test_unversioned_requests_are_split_by_the_variants_weights(deployment: LocalDeployment) -> None:
    counts = Counter(version_of(answer) for answer in call(deployment, "/v2/models/tiny/infer", 60))
    assert set(counts) == {"1", "2"}
    assert sum(counts.values()) == 60
