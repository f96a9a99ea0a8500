"""The whole stage stack: IAM least privilege, cfn-lint, cdk-nag, SAM asset metadata, GPU vs no GPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match
from fake_repo import CDK_CONTEXT, REPO_ROOT, FakeRepo, SynthResult, app_context, is_job_worker

from infra.app import build_app
from infra.constructs.inference_api import CATCH_ALL_PATH
from infra.stacks.modelrail_stack import LAMBDA_DOCKERFILE
from modelrail.contract.jobs import JOB_WORKER_HANDLER
from modelrail.routes import CATALOG_ROUTES, JOB_ROUTES, job_submit_route, model_routes

RESOURCE_WIDE_ACTIONS = {
    "ecr:GetAuthorizationToken",
    "cloudwatch:PutMetricData",
    "xray:PutTraceSegments",  # active tracing
    "xray:PutTelemetryRecords",
}
"""Actions that have no resource-level permissions, so ``*`` is their only resource (PutMetricData must then be
bounded by a ``cloudwatch:namespace`` condition: checked below)."""
CFN_LINT_IGNORED = {"W3005"}
"""CDK adds a DependsOn next to a GetAtt on the same role; redundant, harmless, not ours to remove."""


def statements(result: SynthResult) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM statement as (policy logical id, statement)."""
    found = []
    for logical_id, policy in result.of_type("AWS::IAM::Policy").items():
        found += [(logical_id, s) for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    for logical_id, role in result.of_type("AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            found += [(logical_id, s) for s in inline["PolicyDocument"]["Statement"]]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def cdk_handler_ids(result: SynthResult) -> set[str]:
    """Logical ids of CDK's own BucketDeployment handler role and policy (not our code)."""
    stack = result.stack
    ids = set()
    for construct in stack.node.find_all():
        if "Custom::CDKBucketDeployment" in construct.node.path and isinstance(construct, cdk.CfnResource):
            ids.add(stack.resolve(stack.get_logical_id(construct)))
    return ids


def test_no_iam_statement_allows_every_action(any_stack: SynthResult) -> None:
    for _, statement in statements(any_stack):
        for action in as_list(statement["Action"]):
            assert action != "*"
            assert not action.endswith(":*"), action


def test_our_iam_statements_name_exact_actions_and_scoped_resources(any_stack: SynthResult) -> None:
    cdk_owned = cdk_handler_ids(any_stack)
    ours = [(policy, s) for policy, s in statements(any_stack) if policy not in cdk_owned]
    assert ours
    for policy, statement in ours:
        actions = as_list(statement["Action"])
        assert all("*" not in action for action in actions), (policy, actions)
        if "*" in as_list(statement["Resource"]):
            assert set(actions) <= RESOURCE_WIDE_ACTIONS, (policy, actions)
            if "cloudwatch:PutMetricData" in actions:
                assert "cloudwatch:namespace" in statement["Condition"]["StringEquals"], (policy, statement)


def test_every_model_catalog_and_job_route_needs_the_api_key(with_gpu: SynthResult) -> None:
    methods = with_gpu.methods()
    served = {"tiny": "3", "tiny-b": "1", "tiny-gpu": "1"}
    expected = {(r.method, r.path) for name, v in served.items() for r in model_routes(name, versions=[v])}
    expected |= {(r.method, r.path) for r in CATALOG_ROUTES}
    expected |= {(r.method, r.path) for r in JOB_ROUTES}
    expected |= {("POST", job_submit_route(name).path) for name in served}  # every model takes jobs
    expected |= {("ANY", CATCH_ALL_PATH)}  # every other path: the key first, then 404 (no model names to probe)
    assert set(methods) == expected
    # Only served versions are resources: no `{version}` parameter any request value could fill.
    assert not any("{version}" in path for _, path in methods)
    for key, props in methods.items():
        assert props["ApiKeyRequired"] is True, key
        assert props["AuthorizationType"] == "NONE", key


def test_iam_mode_signs_every_route_and_has_no_keys(iam_prod: SynthResult) -> None:
    for (method, path), props in iam_prod.methods().items():
        if method == "OPTIONS":  # CORS preflight carries no credentials by the standard
            continue
        assert props["AuthorizationType"] == "AWS_IAM", path
        assert not props.get("ApiKeyRequired")
    iam_prod.template.resource_count_is("AWS::ApiGateway::ApiKey", 0)
    iam_prod.template.resource_count_is("AWS::ApiGateway::UsagePlan", 0)


def test_stack_without_gpu_models_has_no_sagemaker(cpu_only: SynthResult) -> None:
    for cfn_type in ("AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint"):
        cpu_only.template.resource_count_is(cfn_type, 0)
    cpu_only.template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)
    cpu_only.template.resource_count_is("AWS::Lambda::Alias", 2)  # live and the one version's pinned alias


def test_stack_with_a_gpu_model_has_one_endpoint_and_a_function_per_cpu_model(with_gpu: SynthResult) -> None:
    for cfn_type in ("AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint"):
        with_gpu.template.resource_count_is(cfn_type, 1)
    with_gpu.template.resource_count_is("AWS::Lambda::Alias", 4)  # per CPU model: live and its version's alias


def test_template_passes_cfn_lint(any_stack: SynthResult) -> None:
    template_files = [str(any_stack.outdir / name) for name in any_stack.templates]  # the stage's and each model's
    assert len(template_files) > 1
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", "--format", "json", "--", *template_files],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    findings = [f for f in json.loads(result.stdout or "[]") if f["Rule"]["Id"] not in CFN_LINT_IGNORED]
    assert findings == [], json.dumps(findings, indent=1)[:3000]


def test_cdk_nag_reports_nothing_unacknowledged(any_stack: SynthResult) -> None:
    report = json.loads((any_stack.outdir / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    assert violations == []


def test_every_acknowledgement_has_a_written_reason(any_stack: SynthResult) -> None:
    acknowledged = {}
    for construct in any_stack.stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                acknowledged |= {f"{construct.node.path}: {rule}": reason for rule, reason in entry.data.items()}
    assert acknowledged
    for rule, reason in acknowledged.items():
        assert "AwsSolutions-" in rule
        assert len(reason) >= 40, rule


def test_cdk_nag_fails_synth_on_an_unacknowledged_wildcard(fake_repo: FakeRepo, tmp_path_factory: Any) -> None:
    app = cdk.App(outdir=str(tmp_path_factory.mktemp("nag-out")), context=app_context(fake_repo, ["tiny"]))
    stack = build_app(app, source_root=fake_repo.root)
    iam.Role(stack, "Careless", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")).add_to_policy(
        iam.PolicyStatement(actions=["s3:Get*"], resources=["*"])
    )
    with pytest.raises(RuntimeError, match=r"AwsSolutions-IAM5\[Action::s3:Get\*\]"):
        app.synth()


def test_image_functions_keep_the_asset_metadata_sam_needs(with_gpu: SynthResult) -> None:
    functions = {
        key: value
        for key, value in with_gpu.of_type("AWS::Lambda::Function").items()
        if value["Properties"].get("PackageType") == "Image"
    }
    assert len(functions) == 5  # tiny and tiny-b, each a model function and a job worker; tiny-gpu's job worker
    image_uris = set()
    for function in functions.values():
        metadata = function["Metadata"]
        assert metadata["aws:asset:dockerfile-path"] == LAMBDA_DOCKERFILE
        assert metadata["aws:asset:property"] == "Code.ImageUri"
        context_dir = with_gpu.outdir / metadata["aws:asset:path"]
        assert (context_dir / LAMBDA_DOCKERFILE).is_file()  # `sam build` can build the image from it
        image_uris.add(json.dumps(function["Properties"]["Code"]["ImageUri"]))
    assert len(image_uris) == 1  # one shared image for every CPU model and every job worker, the GPU model's too
    assets = json.loads((with_gpu.outdir / f"{with_gpu.stack.stack_name}.assets.json").read_text())
    assert len(assets["dockerImages"]) == 2  # the Lambda image and the GPU image, each built once


def test_zip_functions_keep_the_asset_metadata_sam_needs(cpu_only: SynthResult) -> None:
    zipped = cpu_only.template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Handler": "handler.handler", "Runtime": Match.string_like_regexp("python")}},
    )
    assert len(zipped) == 2  # the catalog and the jobs API
    for function in zipped.values():
        assert function["Metadata"]["aws:asset:property"] == "Code"
        assert (cpu_only.outdir / function["Metadata"]["aws:asset:path"] / "handler.py").is_file()


def test_outputs_give_the_url_and_how_to_read_the_key(cpu_only: SynthResult, iam_prod: SynthResult) -> None:
    outputs = cpu_only.template.to_json()["Outputs"]
    assert {"ApiUrl", "ModelBucketName", "DashboardName", "ApiKeyId"} <= set(outputs)
    assert "get-api-key --include-value" in outputs["ApiKeyId"]["Description"]
    assert "ApiKeyId" not in iam_prod.template.to_json()["Outputs"]


def test_data_is_retained_outside_dev(cpu_only: SynthResult, iam_prod: SynthResult) -> None:
    for result, policy in ((cpu_only, "Delete"), (iam_prod, "Retain")):
        buckets = result.of_type("AWS::S3::Bucket")
        assert buckets
        assert {b["DeletionPolicy"] for b in buckets.values()} == {policy}
        logs = result.of_type("AWS::Logs::LogGroup")
        assert {g["DeletionPolicy"] for g in logs.values()} == {policy}


def test_cdk_json_defaults_cover_every_required_setting() -> None:
    assert {"stage", "auth", "models", "throttle_rate", "throttle_burst", "quota_per_day"} <= set(CDK_CONTEXT)


ORIGIN = "https://app.example.com"  # the iam_prod fixture's cors_origin


def modelrail_functions(result: SynthResult) -> dict[str, dict[str, str]]:
    """Environment of each of our functions that answers HTTP (model functions, the catalog and the jobs API; not
    CDK's own handlers nor the job workers)."""
    found = {}
    for logical_id, function in result.of_type("AWS::Lambda::Function").items():
        env = function["Properties"].get("Environment", {}).get("Variables", {})
        if is_job_worker(function):
            continue
        if {"MODELRAIL_MODEL_NAME", "MODELRAIL_CATALOG_KEY", "MODELRAIL_JOB_QUEUES"} & set(env):
            found[logical_id] = env
    return found


def test_with_cors_every_answer_carries_the_origin(iam_prod: SynthResult) -> None:
    """API Gateway adds the header only to its own answers: functions get the origin, GPU routes map it."""
    functions = modelrail_functions(iam_prod)
    assert len(functions) == 3  # tiny + catalog + jobs API
    assert {env.get("MODELRAIL_CORS_ORIGIN") for env in functions.values()} == {ORIGIN}
    gpu_methods = [props for (_, path), props in iam_prod.methods().items() if "/tiny-gpu" in path]
    gpu_methods = [props for props in gpu_methods if props["Integration"]["Type"] == "AWS"]
    assert len(gpu_methods) == len(model_routes("tiny-gpu", versions=["1"]))
    header = "method.response.header.Access-Control-Allow-Origin"
    for props in gpu_methods:
        for answer in props["Integration"]["IntegrationResponses"]:
            assert answer["ResponseParameters"][header] == f"'{ORIGIN}'", answer["StatusCode"]
        for declared in props["MethodResponses"]:
            assert header in declared["ResponseParameters"], declared["StatusCode"]


def test_without_cors_no_answer_carries_an_origin(with_gpu: SynthResult) -> None:
    functions = modelrail_functions(with_gpu)
    assert len(functions) == 4  # tiny, tiny-b + catalog + jobs API
    assert not [env for env in functions.values() if "MODELRAIL_CORS_ORIGIN" in env]
    assert "Access-Control-Allow-Origin" not in json.dumps(with_gpu.resources)


def test_each_model_is_a_nested_stack_the_stage_deployment_waits_for(with_gpu: SynthResult) -> None:
    """Methods live in the models' nested stacks: the stage's Deployment must come after all of them, or a deploy
    would publish the API without them; each model stack waits for its artifact's upload."""
    parent = with_gpu.templates[f"{with_gpu.stack.stack_name}.template.json"]["Resources"]
    nested = {key for key, value in parent.items() if value["Type"] == "AWS::CloudFormation::Stack"}
    assert len(nested) == 3  # tiny, tiny-b, tiny-gpu
    [deployment] = [value for value in parent.values() if value["Type"] == "AWS::ApiGateway::Deployment"]
    assert nested <= set(deployment["DependsOn"])
    uploads = {key for key, value in parent.items() if value["Type"] == "Custom::CDKBucketDeployment"}
    for key in nested:
        assert set(parent[key]["DependsOn"]) & uploads, key
    # No model method or function is left in the stage's own template.
    assert not [v for v in parent.values() if v["Type"] in {"AWS::Lambda::Alias", "AWS::SageMaker::Endpoint"}]
    model_methods = [
        v for v in parent.values() if v["Type"] == "AWS::ApiGateway::Method" and "Integration" in v["Properties"]
    ]
    assert all(m["Properties"]["Integration"]["Type"] in {"AWS_PROXY", "MOCK"} for m in model_methods)


def test_the_lambda_image_holds_the_job_worker_the_stack_runs(with_gpu: SynthResult) -> None:
    """Each worker runs the model image with the worker's handler as CMD: the image must contain that module."""
    dockerfile = (REPO_ROOT / LAMBDA_DOCKERFILE).read_text(encoding="utf-8")
    path, _, function = JOB_WORKER_HANDLER.partition(":")
    assert f'COPY {path} "${{LAMBDA_TASK_ROOT}}/"' in dockerfile
    commands = {
        json.dumps(f["Properties"]["ImageConfig"]["Command"])
        for f in with_gpu.of_type("AWS::Lambda::Function").values()
        if "ImageConfig" in f["Properties"]
    }
    assert commands == {json.dumps([f"{Path(path).stem}.{function}"])}
