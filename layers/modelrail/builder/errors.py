"""Why a build stopped; each message says what went wrong and, where it can, how to fix it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelrail.builder.pipeline import BuildResult


class BuildError(Exception):
    """A model could not be built; nothing was published for it."""


class SourceError(BuildError):
    """The source script failed or did not write what the manifest names."""


class GateFailedError(BuildError):
    """The served model does not answer like fp32 closely enough; the message carries the numbers."""


class BuildFailedError(BuildError):
    """One or more models of a ``build_models`` call failed; ``results`` holds every model's outcome."""

    def __init__(self, message: str, results: list[BuildResult]) -> None:
        super().__init__(message)
        self.results = results


class DatasetError(BuildError):
    """A gate or calibration dataset is missing, unreadable or does not fit the model."""
