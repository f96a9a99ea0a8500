"""``tabular``: objects keyed by feature name, or rows in feature order, in; a value or label out."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from modelrail.datatypes import NUMPY_BY_DATATYPE
from modelrail.errors import InvalidInputError, ModelUnavailableError
from modelrail.manifest import TabularProcessing, Task
from modelrail.processors.base import chunks, single_input
from modelrail.processors.classify import predictions
from modelrail.session import ModelSession
from modelrail.store import Artifact


class TabularProcessor:
    """Orders each instance's features as the manifest lists them and runs [batch, features] rows.

    With ``labels`` in the manifest the first output is a classifier's scores; otherwise each instance's
    answer is its slice of the first output (a number when it is a single value) or, for models with
    several outputs, an object of all of them.
    """

    def __init__(self, artifact: Artifact, session: ModelSession) -> None:
        processing = artifact.manifest.model.processing
        if not isinstance(processing, TabularProcessing):
            raise ModelUnavailableError("a tabular model needs `processing.features`")
        self.features = processing.features
        self.session = session
        self.input = single_input(session, Task.TABULAR)
        spec = session.input_spec(self.input)
        if len(spec.shape) != 2 or spec.shape[1] not in (-1, len(self.features)):
            raise ModelUnavailableError(
                f"a tabular model takes [batch, {len(self.features)}] for its {len(self.features)} features; "
                f"`{self.input}` has shape {spec.shape}"
            )
        self.dtype = NUMPY_BY_DATATYPE[spec.datatype]
        self.labels = artifact.manifest.model.labels

    def predict(self, instances: Sequence[Any]) -> list[Any]:
        """One answer per row."""
        rows = [self._row(index, instance) for index, instance in enumerate(instances)]
        answers: list[Any] = []
        for chunk in chunks(rows, self.session.max_batch_size):
            outputs = self.session.run({self.input: np.asarray(chunk, dtype=self.dtype)})
            answers.extend(self._answers(outputs, len(chunk)))
        return answers

    def describe(self) -> dict[str, Any]:
        """The feature order."""
        return {"instances": "objects keyed by feature name, or rows in this order", "features": self.features}

    def _row(self, index: int, instance: Any) -> list[float]:
        if isinstance(instance, dict):
            unknown = sorted(set(instance) - set(self.features))
            if unknown:
                raise InvalidInputError(
                    f"instance {index}: unknown feature(s) {unknown}; expected: {', '.join(self.features)}"
                )
            missing = [name for name in self.features if name not in instance]
            if missing:
                raise InvalidInputError(f"instance {index}: missing feature(s) {missing}")
            values = [instance[name] for name in self.features]
            names = self.features
        elif isinstance(instance, list):
            if len(instance) != len(self.features):
                raise InvalidInputError(
                    f"instance {index}: a row needs {len(self.features)} values ({', '.join(self.features)}), "
                    f"got {len(instance)}"
                )
            values, names = instance, self.features
        else:
            raise InvalidInputError(
                f"instance {index}: expected an object keyed by feature name or a row of "
                f"{len(self.features)} numbers, got {type(instance).__name__}"
            )
        for name, value in zip(names, values, strict=True):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise InvalidInputError(f"instance {index}: feature `{name}` must be a finite number, got {value!r}")
        return [float(value) for value in values]

    def _answers(self, outputs: dict[str, np.ndarray], count: int) -> list[Any]:
        first = next(iter(outputs.values()))
        if self.labels is not None:
            return predictions(first, self.labels)
        if len(outputs) == 1:
            return [_value(first[index]) for index in range(count)]
        return [{name: _value(array[index]) for name, array in outputs.items()} for index in range(count)]


def _value(array: np.ndarray) -> Any:
    return array.reshape(-1)[0].item() if array.size == 1 else array.tolist()
