"""The catalog: a zip function with the runtime layer, the model list in its env, readiness for GPU models."""

from __future__ import annotations

import json

import aws_cdk as cdk
from fake_repo import SynthResult

from infra.constructs.catalog_function import RUNTIME
from modelrail import constants


def catalog(result: SynthResult) -> dict:  # type: ignore[type-arg]
    (function,) = result.template.find_resources(
        "AWS::Lambda::Function", {"Properties": {"Handler": "handler.handler"}}
    ).values()
    return function


def test_catalog_runs_on_the_runtime_layer(cpu_only: SynthResult) -> None:
    props = catalog(cpu_only)["Properties"]
    assert props["Runtime"] == RUNTIME.name
    (layer_ref,) = props["Layers"]
    layer = cpu_only.resources[layer_ref["Ref"]]
    assert layer["Properties"]["CompatibleRuntimes"] == [RUNTIME.name]
    layer_dir = cpu_only.outdir / layer["Metadata"]["aws:asset:path"]
    assert (layer_dir / "python" / "modelrail" / "__init__.py").is_file()  # importable on the Lambda path


def test_catalog_lists_the_deployed_models(with_gpu: SynthResult) -> None:
    env = catalog(with_gpu)["Properties"]["Environment"]["Variables"]
    assert env[constants.ENV_API_AUTH] == "api-key"
    resolved = cdk.Stack.of(with_gpu.stack).resolve(env[constants.ENV_CATALOG])
    text = "".join(p if isinstance(p, str) else '"<endpoint>"' for p in resolved["Fn::Join"][1])
    entries = json.loads(text.replace('""<endpoint>""', '"<endpoint>"'))
    assert [(e["name"], e["target"], e.get("endpoint")) for e in entries] == [
        ("tiny", "cpu", None),
        ("tiny-b", "cpu", None),
        ("tiny-gpu", "gpu", "<endpoint>"),
    ]


def test_catalog_may_describe_only_the_gpu_endpoints(with_gpu: SynthResult, cpu_only: SynthResult) -> None:
    (endpoint_id,) = with_gpu.of_type("AWS::SageMaker::Endpoint")
    describe = [
        s
        for p in with_gpu.of_type("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "sagemaker:DescribeEndpoint"
    ]
    assert [s["Resource"] for s in describe] == [{"Ref": endpoint_id}]
    assert "sagemaker:DescribeEndpoint" not in json.dumps(cpu_only.of_type("AWS::IAM::Policy"))
