"""Which model version answers unversioned traffic, and with what weight: the one rule the stack (function
versions, the ``live`` alias, SageMaker variants) and local mode both follow.

A model's function serves every served version on its pinned routes; what differs between its function versions
is the default version of its unversioned routes. The function's current configuration defaults to the canary's
version while a canary takes a share (percent > 0), else to the live version; the previous function version
defaults to the live version. The ``live`` alias splits unversioned traffic between them: ``100 - percent`` to
the live version, ``percent`` to the canary. On SageMaker each served version is its own production variant with
these weights (0 for a version served only on its pinned routes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelrail.manifest import Manifest

VARIANT_PREFIX = "v-"


def variant_name(version: str) -> str:
    """The SageMaker production variant serving a version: ``v-<version>`` with every ``.``/``_`` as ``-`` (the
    stack's variants, and local mode's InvokeEndpoint answer ``InvokedProductionVariant``).

    Variant names are ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}`` (SageMaker API, ProductionVariant ``VariantName``):
    letters, digits and inner hyphens only, so a trailing ``-`` is dropped.
    """
    return (VARIANT_PREFIX + re.sub(r"[^A-Za-z0-9]", "-", version)).rstrip("-")


@dataclass(frozen=True)
class ReleasePlan:
    """One model's served versions and the split of its unversioned traffic."""

    served: tuple[str, ...]
    live: str
    canary: str | None = None
    percent: int = 0
    """The canary's share of unversioned requests, 0..99."""
    bake_minutes: int | None = None

    @property
    def current_default(self) -> str:
        """The default version of the function's current configuration: the canary's while it takes traffic."""
        return self.canary if self.canary is not None and self.percent > 0 else self.live

    @property
    def splits(self) -> bool:
        """Whether unversioned traffic goes to two versions."""
        return self.current_default != self.live

    def weights(self) -> dict[str, int]:
        """Served version -> percent of unversioned requests it answers (0: pinned routes only); sums to 100."""
        found = dict.fromkeys(self.served, 0)
        found[self.live] = 100 - (self.percent if self.splits else 0)
        if self.splits and self.canary is not None:
            found[self.canary] = self.percent
        return found


def release_plan(manifest: Manifest) -> ReleasePlan:
    """The plan ``deploy.releases`` describes (validated by the manifest: live and canary are served)."""
    canary = manifest.canary
    return ReleasePlan(
        served=tuple(manifest.served_versions),
        live=manifest.live_version,
        canary=canary.version if canary is not None else None,
        percent=canary.percent if canary is not None else 0,
        bake_minutes=canary.bake_minutes if canary is not None else None,
    )
