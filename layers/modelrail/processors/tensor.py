"""``tensor``: each instance is ``{input_name: nested list}`` without the batch dimension; raw outputs back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from modelrail.datatypes import array_from_json
from modelrail.errors import InvalidInputError
from modelrail.processors.base import chunks
from modelrail.session import Feeds, ModelSession
from modelrail.store import Artifact


class TensorProcessor:
    """Stacks same-shaped instances into batches of at most ``max_batch_size``; answers ``{output: values}``."""

    def __init__(self, artifact: Artifact, session: ModelSession) -> None:
        del artifact  # nothing to configure beyond the graph's own specs
        self.session = session

    def predict(self, instances: Sequence[Any]) -> list[Any]:
        """``{output_name: nested list}`` per instance."""
        feeds = [self._instance(index, instance) for index, instance in enumerate(instances)]
        shapes = {tuple((name, array.shape) for name, array in feed.items()) for feed in feeds}
        size = self.session.max_batch_size if len(shapes) == 1 else 1  # differently shaped instances run alone
        answers: list[Any] = []
        for chunk in chunks(feeds, size):
            batch = {name: np.stack([feed[name] for feed in chunk]) for name in chunk[0]}
            outputs = self.session.run(batch)
            answers.extend({name: array[i].tolist() for name, array in outputs.items()} for i in range(len(chunk)))
        return answers

    def describe(self) -> dict[str, Any]:
        """Instances name every input."""
        return {"instances": "objects mapping every input name to a nested list without the batch dimension"}

    def _instance(self, index: int, instance: Any) -> Feeds:
        expected = ", ".join(spec.name for spec in self.session.inputs)
        if not isinstance(instance, dict):
            raise InvalidInputError(
                f"instance {index}: expected an object mapping input names ({expected}) to nested lists, "
                f"got {type(instance).__name__}"
            )
        unknown = sorted(set(instance) - {spec.name for spec in self.session.inputs})
        if unknown:
            raise InvalidInputError(f"instance {index}: unknown input(s) {unknown}; the model's inputs are: {expected}")
        feed: Feeds = {}
        for spec in self.session.inputs:
            where = f"instance {index}: input `{spec.name}`"
            if spec.name not in instance:
                raise InvalidInputError(f"{where} is missing")
            array = array_from_json(instance[spec.name], spec.datatype, where=where)
            want = spec.shape[1:]
            if array.ndim != len(want) or any(w not in (-1, g) for w, g in zip(want, array.shape, strict=True)):
                raise InvalidInputError(
                    f"{where}: expected shape {want} (the model's {spec.shape} without the batch dimension), "
                    f"got {list(array.shape)}"
                )
            feed[spec.name] = array
        return feed
