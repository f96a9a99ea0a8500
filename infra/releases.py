"""How a model's releases (``deploy.releases``) are named and weighted in AWS: Lambda aliases, SageMaker variants.

One rule, one place: the Lambda construct, the SageMaker construct, the routes and the stack outputs that
``modelrail status`` reads all take their names and weights from here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from infra.deployed_models import DeployedModel
from modelrail.contract import stack as stack_contract
from modelrail.contract.releases import variant_name

LIVE_ALIAS = stack_contract.LIVE_ALIAS
"""The alias unversioned routes invoke; CodeDeploy shifts it from the previous function version to the current.
Named in ``modelrail.contract.stack``, where ``modelrail status`` reads it too."""

PINNED_ALIAS_PREFIX = "v-"


class ReleaseNameError(ValueError):
    """Two served versions would share one alias or variant name."""


class ReleaseSettingError(ValueError):
    """A release AWS cannot carry out as set; the message names the field and the fix."""


def pinned_alias(version: str) -> str:
    """The alias a version's pinned routes invoke: ``v-<version>`` with ``.`` as ``_``.

    Lambda alias names are ``(?!^[0-9]+$)([a-zA-Z0-9-_]+)`` (Lambda API, CreateAlias ``Name``); versions also allow
    ``.`` (``modelrail.manifest.VERSION_PATTERN``), and the ``v-`` prefix keeps an all-digit version from being
    read as a version number.
    """
    return PINNED_ALIAS_PREFIX + version.replace(".", "_")


def _unique(model: DeployedModel, namer: Callable[[str], str], what: str) -> dict[str, str]:
    names = {version: namer(version) for version in model.served}
    seen: dict[str, str] = {}
    for version, name in names.items():
        if name in seen:
            raise ReleaseNameError(
                f"models/{model.name}/model.yaml: served versions {seen[name]} and {version} would share the "
                f"{what} `{name}`; serve only one of them (`deploy.releases.served`)"
            )
        seen[name] = version
    return names


def pinned_aliases(model: DeployedModel) -> dict[str, str]:
    """Every served version -> its pinned alias (refused at synth if two would collide)."""
    return _unique(model, pinned_alias, "Lambda alias")


def variant_names(model: DeployedModel) -> dict[str, str]:
    """Every served version -> its SageMaker variant (refused at synth if two would collide)."""
    return _unique(model, variant_name, "SageMaker variant")


def variant_weights(model: DeployedModel) -> dict[str, int]:
    """Every served version -> its share of unversioned traffic in percent (``modelrail.contract.releases``): the
    live version ``100 - p``, the canary ``p`` (0 for a 0% canary: its pinned routes only), every other served
    version 0.

    SageMaker routes by ``VariantWeight / sum of all weights`` and accepts weight 0 ("Valid Range: Minimum value
    of 0", SageMaker API, ProductionVariant ``InitialVariantWeight``); a 0-weight variant is reached only through
    ``TargetVariant`` ("this parameter overrides the default behavior for the endpoint, which is to distribute the
    invocation traffic based on the variant weights", SageMaker Runtime API, InvokeEndpoint).
    """
    return model.plan.weights()


def output_id(model_name: str, taken: Sequence[str] = ()) -> str:
    """The stack output id of a model's release summary: ``Release`` + the name in PascalCase (``tiny-b`` ->
    ``ReleaseTinyB``); CloudFormation output ids are alphanumeric."""
    candidate = stack_contract.OUTPUT_RELEASE_PREFIX + "".join(
        part[:1].upper() + part[1:] for part in model_name.split("-")
    )
    if candidate in taken:
        raise ReleaseNameError(f"model {model_name}: its release output id {candidate} is taken by another model")
    return candidate


def release_summary(model: DeployedModel, **resources: object) -> Mapping[str, object]:
    """What ``modelrail status`` reads per model (the ``Release<Model>`` stack output, as JSON)."""
    canary = model.canary
    return {
        "model": model.name,
        "target": model.manifest.deploy.target.value,
        "served": list(model.served),
        "live": model.live_version,
        "canary": None
        if canary is None
        else {"version": canary.version, "percent": canary.percent, "bake_minutes": canary.bake_minutes},
        "default_version": model.default_version,
        "weights": variant_weights(model),
        **resources,
    }
