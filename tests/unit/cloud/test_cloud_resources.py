"""A stage's resources grouped per model stack: each model's function or endpoint with its own deployment group."""

from __future__ import annotations

from modelrail.cloud.resources import StackResource, endpoint_name, group_by_stack

STAGE = "arn:aws:cloudformation:us-east-1:123456789012:stack/modelrail-dev/1"
DIGITS = "arn:aws:cloudformation:us-east-1:123456789012:stack/modelrail-dev-Modeldigits/2"
GPU = "arn:aws:cloudformation:us-east-1:123456789012:stack/modelrail-dev-Modelminilmgpu/3"


def test_each_model_stack_keeps_its_function_and_its_deployment_group() -> None:
    resources = [
        StackResource(STAGE, "Catalog", "AWS::Lambda::Function", "modelrail-dev-Catalog-1"),
        StackResource(STAGE, "Modeldigits", "AWS::CloudFormation::Stack", DIGITS),
        StackResource(DIGITS, "Fn", "AWS::Lambda::Function", "modelrail-dev-Modeldigits-Fn-1"),
        StackResource(DIGITS, "App", "AWS::CodeDeploy::Application", "digits-app"),
        StackResource(DIGITS, "Group", "AWS::CodeDeploy::DeploymentGroup", "digits-group"),
        StackResource(GPU, "Ep", "AWS::SageMaker::Endpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep-1"),
    ]
    groups = {group.stack_id: group for group in group_by_stack(resources)}
    assert groups[STAGE].functions == ["modelrail-dev-Catalog-1"]
    assert groups[DIGITS].functions == ["modelrail-dev-Modeldigits-Fn-1"]
    assert groups[DIGITS].deployment_groups == [("digits-app", "digits-group")]
    assert groups[GPU].endpoints == ["ep-1"]


def test_a_group_uses_the_stages_only_application_when_its_stack_has_none() -> None:
    resources = [
        StackResource(STAGE, "App", "AWS::CodeDeploy::Application", "shared-app"),
        StackResource(DIGITS, "Fn", "AWS::Lambda::Function", "fn"),
        StackResource(DIGITS, "Group", "AWS::CodeDeploy::DeploymentGroup", "digits-group"),
    ]
    (group,) = group_by_stack(resources)
    assert group.deployment_groups == [("shared-app", "digits-group")]


def test_an_ambiguous_application_is_left_out_rather_than_guessed() -> None:
    resources = [
        StackResource(STAGE, "A", "AWS::CodeDeploy::Application", "a"),
        StackResource(GPU, "B", "AWS::CodeDeploy::Application", "b"),
        StackResource(DIGITS, "Fn", "AWS::Lambda::Function", "fn"),
        StackResource(DIGITS, "Group", "AWS::CodeDeploy::DeploymentGroup", "g"),
    ]
    assert [group.deployment_groups for group in group_by_stack(resources)] == [[]]


def test_endpoint_names_come_from_arns_or_stay_names() -> None:
    assert endpoint_name("arn:aws:sagemaker:eu-west-1:1:endpoint/endpoint-abc") == "endpoint-abc"
    assert endpoint_name("Endpoint-ABC") == "Endpoint-ABC"
