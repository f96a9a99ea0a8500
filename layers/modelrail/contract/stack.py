"""A stage's stack as the command line finds it: the stack's name and the outputs ``deploy``, ``predict``, ``status``
read.

``infra/app.py`` names the stack and ``infra/stacks/modelrail_stack.py`` writes the outputs with these names; the
CLI (``modelrail.cloud``) reads them back through CloudFormation ``DescribeStacks``. Standard library only.
"""

from __future__ import annotations

from typing import Final

DEFAULT_STAGE: Final = "dev"
"""The stage ``cdk.json`` deploys when no ``--context stage=...`` is given."""
STACK_PREFIX: Final = "modelrail-"

OUTPUT_API_URL: Final = "ApiUrl"
"""The stage's invoke URL, ending in ``/`` (``https://<id>.execute-api.<region>.amazonaws.com/<stage>/``)."""
OUTPUT_API_KEY_ID: Final = "ApiKeyId"
"""The usage plan's API key id (``auth: api-key`` only); its value comes from API Gateway ``GetApiKey``."""
OUTPUT_MODEL_BUCKET: Final = "ModelBucketName"
OUTPUT_DASHBOARD: Final = "DashboardName"
OUTPUT_JOB_BUCKET: Final = "JobBucketName"
OUTPUT_CUSTOM_DOMAIN_URL: Final = "CustomDomainUrl"
OUTPUT_CUSTOM_DOMAIN_TARGET: Final = "CustomDomainTarget"
LIVE_ALIAS: Final = "live"
"""The Lambda alias unversioned routes invoke; CodeDeploy shifts it from the previous function version to the
current one (``infra/releases.py`` names it, ``modelrail status`` reads it)."""
OUTPUT_RELEASE_PREFIX: Final = "Release"
"""``Release<Model>`` (the name in PascalCase): one JSON object per model, what its ``deploy.releases`` declares and
the AWS names that carry it. Keys: ``model``, ``target``, ``served``, ``live``, ``canary`` (``null`` or
``{version, percent, bake_minutes}``), ``default_version``, ``weights``; CPU models ``function``, ``live_alias``,
``pinned_aliases``, ``codedeploy_application``, ``deployment_group``; GPU models ``endpoint``, ``variants``."""


def stack_name(stage: str) -> str:
    """``modelrail-<stage>``: one stack per stage."""
    return f"{STACK_PREFIX}{stage}"
