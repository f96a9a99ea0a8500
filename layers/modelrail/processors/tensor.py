"""``tensor``: each instance is ``{input_name: nested list}`` without the batch axis; raw outputs back.

Inputs with a batch axis (``processing.batch_axes``, else the graph's default) are given per instance and
stacked along that axis, which need not be the first (a recurrent state ``[2, B, 128]`` stacks along axis 1).
Inputs without one (a 0-d sample rate) are given once per request in ``shared`` and go whole into every
session call. Each instance's outputs are taken along each output's batch axis; an output without one is
answered whole to every instance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from modelrail.datatypes import array_from_json
from modelrail.errors import InvalidInputError
from modelrail.manifest import TensorSpec
from modelrail.processors.base import chunks
from modelrail.session import Feeds, ModelSession
from modelrail.store import Artifact


class TensorProcessor:
    """Stacks same-shaped instances into batches of at most ``max_batch_size``; answers ``{output: values}``."""

    def __init__(self, artifact: Artifact, session: ModelSession) -> None:
        del artifact  # the batch axes are the session's (declared in the manifest or read from the graph)
        self.session = session
        self._batched = [spec for spec in session.inputs if spec.batch_axis is not None]
        self._shared = [spec for spec in session.inputs if spec.batch_axis is None]

    def predict(self, instances: Sequence[Any], shared: Mapping[str, Any] | None = None) -> list[Any]:
        """``{output_name: nested list}`` per instance."""
        common = self._shared_feed(shared or {})
        feeds = [self._instance(index, instance) for index, instance in enumerate(instances)]
        shapes = {tuple((name, array.shape) for name, array in feed.items()) for feed in feeds}
        size = self.session.max_batch_size if len(shapes) == 1 else 1  # differently shaped instances run alone
        answers: list[Any] = []
        for chunk in chunks(feeds, size):
            batch = {
                spec.name: np.stack([feed[spec.name] for feed in chunk], axis=spec.batch_axis or 0)
                for spec in self._batched
            }
            outputs = self.session.run({**batch, **common})
            answers.extend(
                {name: _instance_output(self.session, name, array, i).tolist() for name, array in outputs.items()}
                for i in range(len(chunk))
            )
        return answers

    def describe(self) -> dict[str, Any]:
        """Instances name every batched input; ``shared`` names the rest."""
        described: dict[str, Any] = {
            "instances": "objects mapping every batched input name to a nested list without its batch axis",
            "batch_axes": {spec.name: spec.batch_axis for spec in self._batched},
        }
        if self._shared:
            described["shared"] = [spec.name for spec in self._shared]
        return described

    def _shared_feed(self, shared: Mapping[str, Any]) -> Feeds:
        names = [spec.name for spec in self._shared]
        unknown = sorted(set(shared) - set(names))
        if unknown:
            has = f"its shared inputs are: {', '.join(names)}" if names else "it has no shared inputs"
            raise InvalidInputError(f"`shared`: {unknown} are not inputs shared by the whole batch; {has}")
        feed: Feeds = {}
        for spec in self._shared:
            where = f"shared input `{spec.name}`"
            if spec.name not in shared:
                raise InvalidInputError(
                    f"{where} is missing: give it once per request, "
                    f'e.g. {{"instances": [...], "shared": {{"{spec.name}": ...}}}}'
                )
            feed[spec.name] = _checked(array_from_json(shared[spec.name], spec.datatype, where=where), spec, where)
        return feed

    def _instance(self, index: int, instance: Any) -> Feeds:
        expected = ", ".join(spec.name for spec in self._batched)
        if not isinstance(instance, dict):
            raise InvalidInputError(
                f"instance {index}: expected an object mapping input names ({expected}) to nested lists, "
                f"got {type(instance).__name__}"
            )
        unknown = sorted(set(instance) - {spec.name for spec in self._batched})
        if unknown:
            shared = [spec.name for spec in self._shared if spec.name in unknown]
            hint = f" ({shared} are shared by the whole batch: give them once, in `shared`)" if shared else ""
            raise InvalidInputError(
                f"instance {index}: unknown input(s) {unknown}; the model's inputs are: {expected}{hint}"
            )
        feed: Feeds = {}
        for spec in self._batched:
            where = f"instance {index}: input `{spec.name}`"
            if spec.name not in instance:
                raise InvalidInputError(f"{where} is missing")
            feed[spec.name] = _checked(array_from_json(instance[spec.name], spec.datatype, where=where), spec, where)
        return feed


def _checked(array: np.ndarray, spec: TensorSpec, where: str) -> np.ndarray:
    want = list(spec.shape)
    if spec.batch_axis is not None:
        del want[spec.batch_axis]
    if array.ndim != len(want) or any(w not in (-1, g) for w, g in zip(want, array.shape, strict=True)):
        without = f" without the batch axis, {spec.batch_axis}" if spec.batch_axis is not None else ""
        raise InvalidInputError(
            f"{where}: expected shape {want} (the model's {spec.shape}{without}), got {list(array.shape)}"
        )
    return array


def _instance_output(session: ModelSession, name: str, array: np.ndarray, index: int) -> np.ndarray:
    axis = next(spec.batch_axis for spec in session.outputs if spec.name == name)
    return array if axis is None else np.take(array, index, axis=axis)
