"""One deployed model in the deployed-model list: written by the stack and by local mode, read by the catalog."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CatalogEntry:
    """One deployed model."""

    name: str
    version: str
    task: str
    target: str
    endpoint: str | None = None
    """SageMaker endpoint name, for ``target: gpu`` (the catalog asks it whether the model is ready)."""

    def as_json(self) -> dict[str, str]:
        """The entry in the deployed-model list; ``endpoint`` only where there is one."""
        return {key: value for key, value in asdict(self).items() if value is not None}
