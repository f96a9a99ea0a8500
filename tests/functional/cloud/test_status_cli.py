"""``modelrail status`` against moto's server: a stage stack with one nested stack per model, a Lambda model whose
``live`` alias sends 10% to a canary function version, a SageMaker model with a variant per version; and the
CodeDeploy deployment a rollout is read from."""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

import boto3
import pytest

from modelrail.cli import main
from modelrail.cloud.releases import latest_deployment

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/modelrail-gpu:1"
API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/dev/"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


def _function(role: str, env: dict[str, str]) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": role,
            "Code": {"ZipFile": "def handler(event, context):\n    return {}\n"},
            "Environment": {"Variables": env},
        },
    }


def _gpu_template(role: str) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    for version in ("1", "2"):
        resources[f"Model{version}"] = {
            "Type": "AWS::SageMaker::Model",
            "Properties": {
                "ExecutionRoleArn": role,
                "PrimaryContainer": {
                    "Image": IMAGE,
                    "Environment": {"MODELRAIL_MODEL_NAME": "minilm-gpu", "MODELRAIL_MODEL_VERSION": version},
                },
            },
        }
    resources["Config"] = {
        "Type": "AWS::SageMaker::EndpointConfig",
        "Properties": {
            "ProductionVariants": [
                {
                    "VariantName": f"v{version}",
                    "ModelName": {"Fn::GetAtt": [f"Model{version}", "ModelName"]},
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.g4dn.xlarge",
                    "InitialVariantWeight": weight,
                }
                for version, weight in (("1", 75), ("2", 25))
            ]
        },
    }
    resources["Endpoint"] = {
        "Type": "AWS::SageMaker::Endpoint",
        "Properties": {"EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}},
    }
    return {"Resources": resources}


@pytest.fixture
def stage(moto_server: str) -> dict[str, str]:
    """Stack modelrail-dev as the stage's stack is laid out: outputs, the catalog, one nested stack per model."""
    role = boto3.client("iam").create_role(RoleName="modelrail", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="templates")
    digits = {"Resources": {"Function": _function(role, {"MODELRAIL_MODEL_NAME": "digits"})}}
    s3.put_object(Bucket="templates", Key="digits.json", Body=json.dumps(digits))
    s3.put_object(Bucket="templates", Key="gpu.json", Body=json.dumps(_gpu_template(role)))
    parent = {
        "Resources": {
            "Catalog": _function(role, {"MODELRAIL_CATALOG_KEY": "catalog/models-1.json"}),
            "Modeldigits": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": "https://templates.s3.amazonaws.com/digits.json"},
            },
            "Modelminilmgpu": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": "https://templates.s3.amazonaws.com/gpu.json"},
            },
        },
        "Outputs": {"ApiUrl": {"Value": API_URL}},
    }
    cfn = boto3.client("cloudformation")
    cfn.create_stack(StackName="modelrail-dev", TemplateBody=json.dumps(parent))
    nested = next(
        r["PhysicalResourceId"]
        for r in cfn.list_stack_resources(StackName="modelrail-dev")["StackResourceSummaries"]
        if r["LogicalResourceId"] == "Modeldigits"
    )
    function = cfn.list_stack_resources(StackName=nested)["StackResourceSummaries"][0]["PhysicalResourceId"]
    # Two published function versions: the first defaults to model version 1, the second to 2; both serve 1 and 2.
    lam = boto3.client("lambda")
    served = json.dumps({"1": {}, "2": {}})
    published = []
    for version in ("1", "2"):
        env = {
            "MODELRAIL_MODEL_NAME": "digits",
            "MODELRAIL_MODEL_VERSION": version,
            "MODELRAIL_SERVED_VERSIONS": served,
        }
        lam.update_function_configuration(FunctionName=function, Environment={"Variables": env})
        published.append(lam.publish_version(FunctionName=function)["Version"])
    lam.create_alias(
        FunctionName=function,
        Name="live",
        FunctionVersion=published[0],
        RoutingConfig={"AdditionalVersionWeights": {published[1]: 0.1}},
    )
    return {"function": function, "old": published[0], "new": published[1]}


def test_a_stack_without_release_outputs_is_read_through_its_nested_stacks(
    stage: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--stage", "dev"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "stage dev: stack modelrail-dev is CREATE_COMPLETE in us-east-1"
    assert lines[1] == f"API URL: {API_URL}"
    table = {cells[0]: cells for cells in (re.split(r"\s{2,}", line.strip()) for line in lines[2:])}
    assert table["MODEL"] == ["MODEL", "TARGET", "LIVE", "CANARY", "SERVED", "ROLLOUT"]
    assert table["digits"] == ["digits", "cpu", "1 (90%)", "2 (10%)", "1, 2", "-"]
    assert table["minilm-gpu"] == ["minilm-gpu", "gpu", "1 (75%)", "2 (25%)", "1, 2", "-"]
    assert len(table) == 3


def test_status_json_names_what_carries_each_share(stage: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--stage", "dev", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["stack_status"] == "CREATE_COMPLETE"
    digits = next(model for model in document["models"] if model["name"] == "digits")
    assert digits["resource"] == stage["function"]
    assert digits["shares"] == [
        {"version": "1", "percent": 90.0, "via": f"function version {stage['old']}"},
        {"version": "2", "percent": 10.0, "via": f"function version {stage['new']}"},
    ]
    gpu = next(model for model in document["models"] if model["name"] == "minilm-gpu")
    assert [(share["version"], share["percent"], share["via"]) for share in gpu["shares"]] == [
        ("1", 75.0, "variant v1"),
        ("2", 25.0, "variant v2"),
    ]


def test_status_of_a_stage_that_was_never_deployed_says_how_to_deploy_it(
    moto_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--stage", "nope"]) == 1
    err = capsys.readouterr().err
    assert "no stack modelrail-nope in us-east-1" in err
    assert "modelrail deploy --stage nope" in err


def test_without_credentials_status_says_how_to_configure_them(
    aws_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert main(["status"]) == 1
    assert "no AWS credentials found" in capsys.readouterr().err


def test_the_rollout_is_the_deployment_groups_latest_deployment(moto_server: str) -> None:
    codedeploy = boto3.client("codedeploy")
    codedeploy.create_application(applicationName="digits", computePlatform="Lambda")
    codedeploy.create_deployment_group(
        applicationName="digits",
        deploymentGroupName="digits-live",
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
        deploymentConfigName="CodeDeployDefault.LambdaCanary10Percent5Minutes",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
    )
    assert latest_deployment(codedeploy, "digits", "digits-live") is None
    revision: Any = {"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}}
    deployed = codedeploy.create_deployment(
        applicationName="digits", deploymentGroupName="digits-live", revision=revision
    )["deploymentId"]
    rollout = latest_deployment(codedeploy, "digits", "digits-live")
    assert rollout is not None
    assert rollout.id == deployed
    assert rollout.status == "Created"
    assert rollout.active
    assert rollout.config == "CodeDeployDefault.LambdaCanary10Percent5Minutes"


def test_release_outputs_name_the_function_and_the_deployment_group_whose_rollout_is_shown(
    moto_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    role = boto3.client("iam").create_role(RoleName="modelrail", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = boto3.client("lambda")
    base = {"MODELRAIL_MODEL_NAME": "digits", "MODELRAIL_SERVED_VERSIONS": json.dumps({"1": {}, "2": {}})}
    lam.create_function(
        FunctionName="digits-fn",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _zip()},
        Environment={"Variables": {**base, "MODELRAIL_MODEL_VERSION": "1"}},
    )
    old = lam.publish_version(FunctionName="digits-fn")["Version"]
    lam.update_function_configuration(
        FunctionName="digits-fn", Environment={"Variables": {**base, "MODELRAIL_MODEL_VERSION": "2"}}
    )
    new = lam.publish_version(FunctionName="digits-fn")["Version"]
    lam.create_alias(
        FunctionName="digits-fn",
        Name="live",
        FunctionVersion=old,
        RoutingConfig={"AdditionalVersionWeights": {new: 0.1}},
    )
    codedeploy = boto3.client("codedeploy")
    codedeploy.create_application(applicationName="digits-releases", computePlatform="Lambda")
    codedeploy.create_deployment_group(
        applicationName="digits-releases",
        deploymentGroupName="digits-live",
        serviceRoleArn=role,
        deploymentConfigName="CodeDeployDefault.LambdaCanary10Percent5Minutes",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
    )
    revision: Any = {"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}}
    deployment = codedeploy.create_deployment(
        applicationName="digits-releases", deploymentGroupName="digits-live", revision=revision
    )["deploymentId"]
    release = {
        "model": "digits",
        "target": "cpu",
        "served": ["1", "2"],
        "live": "1",
        "canary": {"version": "2", "percent": 10, "bake_minutes": 5},
        "default_version": "2",
        "weights": {"1": 90, "2": 10},
        "function": "digits-fn",
        "live_alias": "live",
        "pinned_aliases": {"1": "v-1", "2": "v-2"},
        "codedeploy_application": "digits-releases",
        "deployment_group": "digits-live",
    }
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApiUrl": {"Value": API_URL}, "ReleaseDigits": {"Value": json.dumps(release)}},
    }
    boto3.client("cloudformation").create_stack(StackName="modelrail-dev", TemplateBody=json.dumps(template))

    assert main(["status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    table = {cells[0]: cells for cells in (re.split(r"\s{2,}", line.strip()) for line in lines[2:])}
    assert table["digits"][:5] == ["digits", "cpu", "1 (90%)", "2 (10%)", "1, 2"]
    assert table["digits"][5].startswith(f"Created {deployment} CodeDeployDefault.LambdaCanary10Percent5Minutes at ")
    assert main(["status", "--json"]) == 0
    (model,) = json.loads(capsys.readouterr().out)["models"]
    assert model["declared"]["canary"] == {"version": "2", "percent": 10, "bake_minutes": 5}
    assert model["rollouts"][0]["id"] == deployment


def test_an_endpoint_that_is_not_in_service_shows_as_its_rollout(
    stage: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sagemaker.models import sagemaker_backends

    # moto's endpoints are always InService; the server runs in this process, so set the state SageMaker reports
    # while an endpoint update rolls back after a failed deployment.
    (endpoint,) = sagemaker_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].endpoints.values()
    endpoint.endpoint_status = "RollingBack"
    assert main(["status", "--json"]) == 0
    gpu = next(model for model in json.loads(capsys.readouterr().out)["models"] if model["name"] == "minilm-gpu")
    (rollout,) = gpu["rollouts"]
    assert rollout["status"] == "RollingBack"
    assert rollout["id"] == endpoint.endpoint_config_name
    assert main(["status"]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("minilm-gpu")]
    assert f"RollingBack {endpoint.endpoint_config_name} at " in row
