"""A stage's resources, nested stacks included (CloudFormation ``ListStackResources``), grouped per model stack.

Each model is a nested stack of the stage's stack (``infra/stacks/model_stack.py``), so the resources that
serve one model share a stack id: its Lambda function (with the ``live`` alias) or SageMaker endpoint, and the
CodeDeploy deployment group that rolls its canary out. Physical ids are what CloudFormation reports: a function's
name, an endpoint's ARN (``Ref`` of ``AWS::SageMaker::Endpoint``), a deployment group's or application's name,
a nested stack's stack id.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modelrail.cloud.session import CloudError, error_code

if TYPE_CHECKING:
    from types_boto3_cloudformation import CloudFormationClient

NESTED_STACK = "AWS::CloudFormation::Stack"
FUNCTION = "AWS::Lambda::Function"
ENDPOINT = "AWS::SageMaker::Endpoint"
DEPLOYMENT_GROUP = "AWS::CodeDeploy::DeploymentGroup"
APPLICATION = "AWS::CodeDeploy::Application"
MAX_DEPTH = 3
"""modelrail nests one level (stage -> model); deeper trees are not walked."""


@dataclass(frozen=True)
class StackResource:
    """One resource of the stage's stack or of one of its nested stacks."""

    stack_id: str
    logical_id: str
    type: str
    physical_id: str


@dataclass
class StackGroup:
    """The resources of one stack that can serve a model, and the rollout resources next to them."""

    stack_id: str
    functions: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    """Endpoint names (CloudFormation reports ARNs; the name is the part after ``endpoint/``)."""
    deployment_groups: list[tuple[str, str]] = field(default_factory=list)
    """(CodeDeploy application, deployment group) pairs."""


def list_resources(cfn: CloudFormationClient, stack: str, *, depth: int = 0) -> list[StackResource]:
    """Every created resource of ``stack`` and of its nested stacks (``ListStackResources``, paginated)."""
    from botocore.exceptions import BotoCoreError, ClientError

    found: list[StackResource] = []
    try:
        pages = list(cfn.get_paginator("list_stack_resources").paginate(StackName=stack))
    except ClientError as exc:
        raise CloudError(
            f"CloudFormation ListStackResources {stack} failed ({error_code(exc) or 'error'}): {exc}"
        ) from None
    except BotoCoreError as exc:
        raise CloudError(f"CloudFormation ListStackResources {stack} failed: {exc}") from None
    for page in pages:
        for item in page.get("StackResourceSummaries", []):
            physical = item.get("PhysicalResourceId")
            if not physical:  # not created (yet), or already deleted
                continue
            resource = StackResource(stack, item["LogicalResourceId"], item["ResourceType"], physical)
            found.append(resource)
            if resource.type == NESTED_STACK and depth < MAX_DEPTH:
                found += list_resources(cfn, physical, depth=depth + 1)
    return found


def endpoint_name(physical_id: str) -> str:
    """The endpoint's name from its ARN (``arn:aws:sagemaker:<region>:<account>:endpoint/<name>``).

    ARNs carry the name in lower case; SageMaker endpoint names are case-insensitive ("The name is
    case-insensitive in CreateEndpoint", SageMaker API reference), so DescribeEndpoint finds it either way.
    """
    return physical_id.rsplit("endpoint/", 1)[-1] if physical_id.startswith("arn:") else physical_id


def group_by_stack(resources: list[StackResource]) -> list[StackGroup]:
    """Functions, endpoints and deployment groups, per stack (the stage's own first, then each model's)."""
    groups: dict[str, StackGroup] = {}
    applications: dict[str, list[str]] = defaultdict(list)
    for resource in resources:
        if resource.type == APPLICATION:
            applications[resource.stack_id].append(resource.physical_id)
    every_application = [name for names in applications.values() for name in names]
    for resource in resources:
        group = groups.setdefault(resource.stack_id, StackGroup(resource.stack_id))
        if resource.type == FUNCTION:
            group.functions.append(resource.physical_id)
        elif resource.type == ENDPOINT:
            group.endpoints.append(endpoint_name(resource.physical_id))
        elif resource.type == DEPLOYMENT_GROUP:
            # The group's application: the one in its own stack, else the stage's only one.
            local = applications.get(resource.stack_id, [])
            candidates = local if local else every_application
            if len(candidates) == 1:
                group.deployment_groups.append((candidates[0], resource.physical_id))
    return [group for group in groups.values() if group.functions or group.endpoints]
