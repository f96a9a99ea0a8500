"""Each deployed model's releases: which model version answers unversioned requests, with what share, and the
state of a rollout.

Where to look comes from the stack's ``Release<Model>`` outputs (``modelrail.contract.stack``: the function, its
alias and CodeDeploy deployment group, or the endpoint); a stack without them is read through its resources.
What runs is read from the services themselves, so a rollout in progress shows as it is, not as declared.

CPU models (Lambda): unversioned routes call the function's ``live`` alias. The alias points at one function
version and, during a canary, routes a share of requests to a second one (``RoutingConfig``'s
``AdditionalVersionWeights``: "The second version, and the percentage of traffic that's routed to it", 0.0 to
1.0, Lambda API reference ``AliasRoutingConfiguration``). Every function version serves every served model version
on pinned routes; what differs is its default version, ``MODELRAIL_MODEL_VERSION`` in that version's
configuration (``GetFunctionConfiguration`` with ``Qualifier``). CodeDeploy shifts the alias; the deployment
group's latest deployment (``ListDeployments``, ``BatchGetDeployments``) is the rollout.

GPU models (SageMaker): one production variant per served version; ``DescribeEndpoint`` gives each variant's
``CurrentWeight`` (and ``DesiredWeight`` while an update runs), ``DescribeEndpointConfig`` the variant's SageMaker
model, ``DescribeModel`` that model's container environment (its ``MODELRAIL_MODEL_VERSION``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from modelrail import constants as c
from modelrail.cloud.session import CloudError, error_code
from modelrail.contract.stack import LIVE_ALIAS, OUTPUT_RELEASE_PREFIX

if TYPE_CHECKING:
    import boto3
    from types_boto3_codedeploy import CodeDeployClient
    from types_boto3_lambda import LambdaClient
    from types_boto3_sagemaker import SageMakerClient

    from modelrail.cloud.outputs import StageOutputs
    from modelrail.cloud.resources import StackGroup

ACTIVE_DEPLOYMENT = frozenset({"Created", "Queued", "InProgress", "Baking", "Ready"})
"""CodeDeploy ``DeploymentStatus`` values of a deployment that has not finished (the others: Succeeded, Failed,
Stopped)."""
ACTIVE_ENDPOINT = frozenset({"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting"})
"""SageMaker ``EndpointStatus`` values of an endpoint that is changing (DescribeEndpoint)."""

T = TypeVar("T")


@dataclass(frozen=True)
class Share:
    """A model version answering a share of unversioned requests."""

    version: str
    percent: float
    via: str
    """What carries it: ``function version 7`` or ``variant v2``."""


@dataclass(frozen=True)
class Rollout:
    """The latest rollout: a CodeDeploy deployment (Lambda) or an endpoint update (SageMaker)."""

    id: str
    status: str
    config: str | None = None
    """CodeDeploy deployment configuration (e.g. ``CodeDeployDefault.LambdaCanary10Percent5Minutes``)."""
    created: str | None = None
    message: str | None = None
    """Why it failed or rolled back, as AWS says."""

    @property
    def active(self) -> bool:
        """Still running."""
        return self.status in ACTIVE_DEPLOYMENT or self.status in ACTIVE_ENDPOINT


@dataclass(frozen=True)
class ModelStatus:
    """One deployed model's releases."""

    name: str
    target: str
    """``cpu`` (Lambda) or ``gpu`` (SageMaker)."""
    resource: str
    """The function's or the endpoint's name."""
    shares: list[Share]
    served: list[str]
    rollouts: list[Rollout] = field(default_factory=list)
    declared: dict[str, Any] | None = None
    """What the stack's ``Release<Model>`` output declares (``deploy.releases``), when it has one."""

    @property
    def live(self) -> Share | None:
        """The share with the most traffic."""
        return max(self.shares, key=lambda share: share.percent, default=None)

    @property
    def canaries(self) -> list[Share]:
        """Every other share that gets traffic."""
        live = self.live
        return [share for share in self.shares if share is not live and share.percent > 0]


def _call(what: str, call: Callable[[], T]) -> T:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call()
    except ClientError as exc:
        raise CloudError(f"{what} failed ({error_code(exc) or 'error'}): {exc}") from None
    except BotoCoreError as exc:
        raise CloudError(f"{what} failed: {exc}") from None


def _env(configuration: Any) -> dict[str, str]:
    return dict((configuration.get("Environment") or {}).get("Variables") or {})


def _served(env: dict[str, str]) -> list[str]:
    try:
        served = json.loads(env.get(c.ENV_SERVED_VERSIONS, "{}"))
    except ValueError:
        served = {}
    return list(served) if isinstance(served, dict) and served else [env.get(c.ENV_MODEL_VERSION, "?")]


def lambda_status(client: LambdaClient, function: str, *, alias_name: str = LIVE_ALIAS) -> ModelStatus | None:
    """The model behind ``function``'s ``live`` alias; ``None`` for a function without one (catalog, job workers)."""
    from botocore.exceptions import ClientError

    try:
        alias = client.get_alias(FunctionName=function, Name=alias_name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise CloudError(f"Lambda GetAlias {function}:{alias_name} failed ({error_code(exc)}): {exc}") from None
    extra = {
        str(v): float(w) for v, w in ((alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}).items()
    }
    weights = {alias["FunctionVersion"]: max(0.0, 1.0 - sum(extra.values())), **extra}
    name: str | None = None
    shares: list[Share] = []
    served: list[str] = []
    for function_version, weight in weights.items():
        configuration = _call(
            f"Lambda GetFunctionConfiguration {function}:{function_version}",
            partial(client.get_function_configuration, FunctionName=function, Qualifier=function_version),
        )
        env = _env(configuration)
        if c.ENV_MODEL_NAME not in env:
            return None
        name = env[c.ENV_MODEL_NAME]
        shares.append(
            Share(env.get(c.ENV_MODEL_VERSION, "?"), round(weight * 100, 2), f"function version {function_version}")
        )
        served += [version for version in _served(env) if version not in served]
    assert name is not None  # weights always holds the alias's own version
    return ModelStatus(name=name, target="cpu", resource=function, shares=shares, served=served)


def sagemaker_status(client: SageMakerClient, endpoint: str) -> ModelStatus | None:
    """The model behind a SageMaker endpoint: each variant's model version and share of requests."""
    described = _call(f"SageMaker DescribeEndpoint {endpoint}", lambda: client.describe_endpoint(EndpointName=endpoint))
    config_name = described["EndpointConfigName"]
    config = _call(
        f"SageMaker DescribeEndpointConfig {config_name}",
        lambda: client.describe_endpoint_config(EndpointConfigName=config_name),
    )
    model_of = {variant["VariantName"]: variant["ModelName"] for variant in config["ProductionVariants"]}
    variants = described.get("ProductionVariants", [])
    total = sum(float(variant.get("CurrentWeight", 0.0)) for variant in variants) or 1.0
    name: str | None = None
    shares: list[Share] = []
    for variant in variants:
        variant_name = variant["VariantName"]
        model_name = model_of.get(variant_name)
        if model_name is None:
            continue
        model = _call(f"SageMaker DescribeModel {model_name}", partial(client.describe_model, ModelName=model_name))
        env = dict((model.get("PrimaryContainer") or {}).get("Environment") or {})
        if c.ENV_MODEL_NAME not in env:
            return None
        name = env[c.ENV_MODEL_NAME]
        percent = round(float(variant.get("CurrentWeight", 0.0)) / total * 100, 2)
        shares.append(Share(env.get(c.ENV_MODEL_VERSION, "?"), percent, f"variant {variant_name}"))
    if name is None:
        return None
    rollouts = []
    status = described["EndpointStatus"]
    pending = described.get("PendingDeploymentSummary")
    if status != "InService" or pending:
        rollouts.append(
            Rollout(
                id=(pending or {}).get("EndpointConfigName", config_name),
                status=status,
                created=str(described.get("LastModifiedTime", "")) or None,
                message=described.get("FailureReason"),
            )
        )
    served = list(dict.fromkeys(share.version for share in shares))
    return ModelStatus(name=name, target="gpu", resource=endpoint, shares=shares, served=served, rollouts=rollouts)


def latest_deployment(client: CodeDeployClient, application: str, group: str) -> Rollout | None:
    """The deployment group's most recent deployment, whatever its state."""
    ids = _call(
        f"CodeDeploy ListDeployments {application}/{group}",
        lambda: client.list_deployments(applicationName=application, deploymentGroupName=group),
    ).get("deployments", [])
    if not ids:
        return None
    infos = _call("CodeDeploy BatchGetDeployments", lambda: client.batch_get_deployments(deploymentIds=ids[:25])).get(
        "deploymentsInfo", []
    )
    if not infos:
        return None
    info = max(infos, key=lambda item: str(item.get("createTime", "")))
    message = (info.get("errorInformation") or {}).get("message") or (info.get("rollbackInfo") or {}).get(
        "rollbackMessage"
    )
    created = info.get("createTime")
    return Rollout(
        id=info.get("deploymentId", "?"),
        status=info.get("status", "?"),
        config=info.get("deploymentConfigName"),
        created=created.isoformat() if created is not None else None,
        message=message or None,
    )


def declared_releases(outputs: StageOutputs) -> list[dict[str, Any]]:
    """Every ``Release<Model>`` output, parsed (a value that is not a JSON object naming its model is skipped)."""
    found = []
    for key, value in sorted(outputs.values.items()):
        if not key.startswith(OUTPUT_RELEASE_PREFIX):
            continue
        try:
            release = json.loads(value)
        except ValueError:
            continue
        if isinstance(release, dict) and isinstance(release.get("model"), str):
            found.append(release)
    return found


def _declared_status(session: boto3.Session, release: dict[str, Any]) -> ModelStatus | None:
    function, endpoint = release.get("function"), release.get("endpoint")
    status: ModelStatus | None = None
    if isinstance(function, str):
        alias = release.get("live_alias")
        status = lambda_status(
            session.client("lambda"), function, alias_name=alias if isinstance(alias, str) else LIVE_ALIAS
        )
        application, group = release.get("codedeploy_application"), release.get("deployment_group")
        if status is not None and isinstance(application, str) and isinstance(group, str):
            rollout = latest_deployment(session.client("codedeploy"), application, group)
            status = dataclasses.replace(status, rollouts=[rollout] if rollout is not None else [])
    elif isinstance(endpoint, str):
        status = sagemaker_status(session.client("sagemaker"), endpoint)
    if status is None:
        return None
    served = release.get("served")
    return dataclasses.replace(
        status, declared=release, served=[str(v) for v in served] if isinstance(served, list) else status.served
    )


def _discovered(session: boto3.Session, groups: list[StackGroup]) -> list[ModelStatus]:
    lambda_client = session.client("lambda")
    sagemaker_client = session.client("sagemaker") if any(group.endpoints for group in groups) else None
    codedeploy_client = session.client("codedeploy") if any(group.deployment_groups for group in groups) else None
    found: list[ModelStatus] = []
    for group in groups:
        models = [status for fn in group.functions if (status := lambda_status(lambda_client, fn)) is not None]
        if sagemaker_client is not None:
            models += [s for ep in group.endpoints if (s := sagemaker_status(sagemaker_client, ep)) is not None]
        if len(models) == 1 and codedeploy_client is not None and models[0].target == "cpu":
            rollouts = [
                rollout
                for application, deployment_group in group.deployment_groups
                if (rollout := latest_deployment(codedeploy_client, application, deployment_group)) is not None
            ]
            models = [dataclasses.replace(models[0], rollouts=rollouts)]
        found += models
    return found


def read_status(session: boto3.Session, outputs: StageOutputs) -> list[ModelStatus]:
    """Every model the stage serves, sorted by name.

    The stack's ``Release<Model>`` outputs name each model's function, alias and deployment group, or endpoint;
    a stack without them (deployed before releases existed) is read through its resources, nested stacks included
    (``modelrail.cloud.resources``).
    """
    from modelrail.cloud.resources import group_by_stack, list_resources

    declared = declared_releases(outputs)
    if declared:
        found = [status for release in declared if (status := _declared_status(session, release)) is not None]
    else:
        groups = group_by_stack(list_resources(session.client("cloudformation"), outputs.stack))
        found = _discovered(session, groups)
    return sorted(found, key=lambda status: status.name)
