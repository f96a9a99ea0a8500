"""cdk-nag acknowledgements: each names one rule finding and says why it is acceptable.

cdk-nag v3 uses CDK's native ``Validations.of(construct).acknowledge``; a rule that reports several findings on
one resource (IAM5) needs each finding acknowledged by its id, ``AwsSolutions-IAM5[Resource::...]``.
"""

from __future__ import annotations

import re

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

XRAY_FINDING = "Resource::*"
XRAY_REASON = (
    "Active tracing: CDK grants xray:PutTraceSegments and xray:PutTelemetryRecords, which have no resource-level "
    "permissions, so the resource is * (the AWSXRayDaemonWriteAccess managed policy uses * too)."
)
SAGEMAKER_LOGS = "arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/Endpoints/*"


def acknowledge(construct: IConstruct, rule: str, reason: str, *, findings: tuple[str, ...] = ()) -> None:
    """Acknowledge ``AwsSolutions-<rule>`` (or each of its ``findings``) on ``construct``, with a written reason."""
    ids = [f"AwsSolutions-{rule}[{finding}]" for finding in findings] or [f"AwsSolutions-{rule}"]
    validations = cdk.Validations.of(construct)
    for finding_id in ids:
        validations.acknowledge(cdk.Acknowledgment(id=finding_id, reason=reason))


def bucket_objects_finding(bucket: s3.IBucket, prefix: str, consumer: IConstruct | None = None) -> str:
    """The IAM5 finding text for ``<bucket ARN>/<prefix>*`` as ``consumer``'s template has it: in a nested stack
    the ARN is the parameter CDK passes it in (``reference-to-<unique id of the bucket>.Arn``)."""
    stack = cdk.Stack.of(bucket)
    cfn_bucket = bucket.node.default_child
    assert isinstance(cfn_bucket, cdk.CfnElement)
    if consumer is not None and cdk.Stack.of(consumer) is not stack:
        parameter = re.sub(r"[^A-Za-z0-9]", "", f"reference-to-{cdk.Names.node_unique_id(cfn_bucket.node)}.Arn")
        return f"Resource::<{parameter}>/{prefix}*"
    logical_id = stack.resolve(stack.get_logical_id(cfn_bucket))
    return f"Resource::<{logical_id}.Arn>/{prefix}*"
