"""AWS credentials and region, checked before any slow work (a build, ``cdk deploy``) starts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3

CREDENTIALS_FIX = (
    "configure AWS credentials first: `aws configure` (or `aws sso login --profile P` and AWS_PROFILE=P), or set "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)
REGION_FIX = "set a region: `aws configure set region us-east-1`, or AWS_REGION=us-east-1 (or pass --region)"


class CloudError(Exception):
    """A call to AWS that cannot go ahead or failed; the message says what to do."""


@dataclass(frozen=True)
class Identity:
    """Who the calls run as, and where."""

    account: str
    arn: str
    region: str


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ``ClientError`` (empty for anything else)."""
    response: Any = getattr(exc, "response", None)
    return str((response or {}).get("Error", {}).get("Code", ""))


def aws_session(*, region: str | None = None, profile: str | None = None) -> boto3.Session:
    """A boto3 session with credentials and a region, or a ``CloudError`` naming the fix.

    The credential chain is boto3's own (environment, shared config and SSO, container and instance roles).
    """
    import boto3
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.Session(region_name=region, profile_name=profile)
        credentials = session.get_credentials()
    except BotoCoreError as exc:  # an unknown profile, an unreadable config file
        raise CloudError(f"{exc}; {CREDENTIALS_FIX}") from None
    if credentials is None:
        raise CloudError(f"no AWS credentials found: {CREDENTIALS_FIX}")
    if not session.region_name:
        raise CloudError(f"no AWS region configured: {REGION_FIX}")
    return session


def caller_identity(session: boto3.Session) -> Identity:
    """STS ``GetCallerIdentity``: proves the credentials work. It needs no IAM permission ("No permissions are
    required to perform this operation", STS API reference), so a failure here is about the credentials alone."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = session.client("sts").get_caller_identity()
    except ClientError as exc:
        raise CloudError(
            f"AWS refused the credentials ({error_code(exc) or 'error'}): {exc}; {CREDENTIALS_FIX}"
        ) from None
    except BotoCoreError as exc:
        raise CloudError(f"cannot reach AWS STS: {exc}; {CREDENTIALS_FIX}") from None
    return Identity(account=answer["Account"], arn=answer["Arn"], region=str(session.region_name))
