"""checkov and cfripper suppressions, written into the resource's own template metadata with a reason each.

``make synth`` runs both scanners on the synthesized default app and fails on any finding that is not
suppressed here (see docs/security.md). checkov reads ``Metadata.checkov.skip`` (``id`` + ``comment``) itself;
cfripper has no metadata convention, so ``infra/cfripper_filters/allow_by_metadata.py`` allows a rule on a
resource exactly when ``Metadata.cfripper.<RuleName>`` holds a non-empty reason.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from constructs import IConstruct

CHECKOV_KEY = "checkov"
CFRIPPER_KEY = "cfripper"


def _cfn_resource(construct: IConstruct) -> cdk.CfnResource:
    """The construct itself when it is a CfnResource, else its default child."""
    if isinstance(construct, cdk.CfnResource):
        return construct
    child = construct.node.default_child
    if not isinstance(child, cdk.CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    return child


def skip_checkov(construct: IConstruct, check_id: str, reason: str) -> None:
    """Suppress checkov ``check_id`` on this resource, with the reason in the template."""
    if not reason.strip():
        raise ValueError(f"a checkov suppression of {check_id} needs a reason")
    resource = _cfn_resource(construct)
    # get_metadata hands back a copy (jsii), so the entry is rebuilt and set again.
    skips = [entry for entry in (resource.get_metadata(CHECKOV_KEY) or {}).get("skip", []) if entry["id"] != check_id]
    resource.add_metadata(CHECKOV_KEY, {"skip": [*skips, {"id": check_id, "comment": reason}]})


def allow_cfripper(construct: IConstruct, rule: str, reason: str) -> None:
    """Allow cfripper ``rule`` (its class name) on this resource, with the reason in the template."""
    if not reason.strip():
        raise ValueError(f"a cfripper suppression of {rule} needs a reason")
    resource = _cfn_resource(construct)
    resource.add_metadata(CFRIPPER_KEY, {**(resource.get_metadata(CFRIPPER_KEY) or {}), rule: reason})


def checkov_skips(resource: dict[str, Any]) -> dict[str, str]:
    """``{check id: reason}`` of one resource of a synthesized template (for tests and reports)."""
    skips = resource.get("Metadata", {}).get(CHECKOV_KEY, {}).get("skip", [])
    return {entry["id"]: entry["comment"] for entry in skips}


def cfripper_allows(resource: dict[str, Any]) -> dict[str, str]:
    """``{rule: reason}`` of one resource of a synthesized template (for tests and reports)."""
    return dict(resource.get("Metadata", {}).get(CFRIPPER_KEY, {}))


# --- Reasons shared by every function of the stack ------------------------------------------------------
RESERVED_CONCURRENCY_REASON = (
    "No default reservation: Lambda keeps at least 100 of the account's concurrency unreserved, and new "
    "accounts start with a reduced concurrency quota (Lambda developer guide, 'Configuring reserved concurrency' "
    "and 'Lambda quotas'), so a default reservation per function can fail a first `cdk deploy`. A model opts in "
    "with `reserved_concurrency` in its manifest; the usage plan and stage throttles bound the API's load."
)
LAMBDA_SKIPS: dict[str, str] = {
    "CKV_AWS_116": (
        "Model and catalog functions are invoked synchronously by API Gateway, so the caller gets the error; a "
        "dead-letter queue only receives failed asynchronous invocations (Lambda guide, 'Asynchronous invocation'). "
        "CDK's deployment handlers answer CloudFormation, which fails and rolls back the deployment on an error."
    ),
    "CKV_AWS_117": (
        "Reaches only S3 and CloudWatch over AWS endpoints and holds no VPC resources; a VPC would add NAT or "
        "endpoint costs and ENI set-up without narrowing what the role may do."
    ),
    "CKV_AWS_173": (
        "Environment variables hold names, S3 prefixes, sha256s and settings, never secrets; Lambda encrypts them "
        "at rest with an AWS managed key by default."
    ),
}
LOG_GROUP_KMS_REASON = (
    "CloudWatch Logs encrypts every log group at rest by default; these logs hold request ids, sizes, timings "
    "and error codes, never request bodies, so a customer managed key would add cost and a key policy only."
)


def skip_lambda_checks(function: IConstruct, *, reserved: bool = False) -> None:
    """The stack-wide checkov skips of a Lambda function (``reserved``: it has its own reserved concurrency)."""
    for check_id, reason in LAMBDA_SKIPS.items():
        skip_checkov(function, check_id, reason)
    if not reserved:
        skip_checkov(function, "CKV_AWS_115", RESERVED_CONCURRENCY_REASON)


def skip_log_group_kms(log_group: IConstruct) -> None:
    """CKV_AWS_158 (log group without a KMS key), with the stack-wide reason."""
    skip_checkov(log_group, "CKV_AWS_158", LOG_GROUP_KMS_REASON)
