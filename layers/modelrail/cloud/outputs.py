"""A deployed stage's outputs (CloudFormation ``DescribeStacks``) and its API key's value (``GetApiKey``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from modelrail.cloud.session import CloudError, error_code
from modelrail.contract import stack as contract

if TYPE_CHECKING:
    import boto3


def stage_argument(value: str) -> str:
    """An argparse ``type``: a stage name as ``infra/app.py`` accepts it (dns-safe, like a model name)."""
    import argparse

    from modelrail.manifest import is_valid_name  # pydantic: imported when a stage is parsed, not at start-up

    if not is_valid_name(value):
        raise argparse.ArgumentTypeError(f"`{value}` is not a stage name (lowercase letters, digits and hyphens)")
    return value


@dataclass(frozen=True)
class StageOutputs:
    """The outputs of ``modelrail-<stage>`` (output key -> value), as CloudFormation reports them."""

    stage: str
    stack: str
    status: str
    """The stack's status, e.g. ``CREATE_COMPLETE``, ``UPDATE_IN_PROGRESS``."""
    values: dict[str, str]

    @property
    def api_url(self) -> str:
        """The stage's invoke URL, ending in ``/``."""
        url = self.values.get(contract.OUTPUT_API_URL)
        if not url:
            raise CloudError(f"stack {self.stack} ({self.status}) has no `{contract.OUTPUT_API_URL}` output yet")
        return url if url.endswith("/") else url + "/"

    @property
    def api_key_id(self) -> str | None:
        """The API key's id; ``None`` for a stage deployed with ``auth: iam``."""
        return self.values.get(contract.OUTPUT_API_KEY_ID) or None


def read_outputs(session: boto3.Session, stage: str) -> StageOutputs:
    """``DescribeStacks`` on ``modelrail-<stage>``: its status and every ``OutputKey`` -> ``OutputValue``."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = contract.stack_name(stage)
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        # DescribeStacks answers a stack that does not exist with a ValidationError ("Stack with id X does not exist").
        if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
            raise CloudError(
                f"no stack {name} in {session.region_name}: deploy the stage first (`modelrail deploy --stage "
                f"{stage}`), or pass the stage and region it was deployed with (--stage, AWS_REGION)"
            ) from None
        raise CloudError(f"CloudFormation DescribeStacks {name} failed ({error_code(exc) or 'error'}): {exc}") from None
    except BotoCoreError as exc:
        raise CloudError(f"CloudFormation DescribeStacks {name} failed: {exc}") from None
    stack = stacks[0]
    values = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", []) if "OutputKey" in item}
    return StageOutputs(stage=stage, stack=name, status=stack["StackStatus"], values=values)


def api_key_value(session: boto3.Session, key_id: str) -> str:
    """API Gateway ``GetApiKey`` with ``includeValue``: the key's secret value ("A boolean flag to specify whether
    (true) or not (false) the result contains the key value", API Gateway API reference)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = session.client("apigateway").get_api_key(apiKey=key_id, includeValue=True)
    except ClientError as exc:
        raise CloudError(
            f"API Gateway GetApiKey {key_id} failed ({error_code(exc) or 'error'}): {exc}; reading a key's value "
            "needs the apigateway:GET permission on /apikeys/<id>"
        ) from None
    except BotoCoreError as exc:
        raise CloudError(f"API Gateway GetApiKey {key_id} failed: {exc}") from None
    value = answer.get("value")
    if not value:
        raise CloudError(f"API Gateway returned API key {key_id} without its value")
    return value


@dataclass(frozen=True)
class StageEndpoint:
    """Where to call a deployed stage, and how to authenticate."""

    url: str
    api_key: str | None
    """``None``: the stage uses IAM auth (requests are signed with SigV4)."""
    region: str


def stage_endpoint(session: boto3.Session, stage: str) -> StageEndpoint:
    """The stage's URL and, with API-key auth, the key's value."""
    outputs = read_outputs(session, stage)
    key_id = outputs.api_key_id
    return StageEndpoint(
        url=outputs.api_url,
        api_key=api_key_value(session, key_id) if key_id else None,
        region=str(session.region_name),
    )
