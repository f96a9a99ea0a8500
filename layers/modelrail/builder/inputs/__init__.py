"""Evaluation and calibration datasets as model feeds, one adapter per task (the serving processors' build twins).

An adapter reads a dataset file and turns every instance into the tensors the runtime would feed the model for it,
following the processing conventions in ``docs/build.md``; the gate and static calibration both run on these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from modelrail.builder.errors import DatasetError
from modelrail.manifest import Model, Task

Feeds = dict[str, np.ndarray]
"""Input name -> array, as passed to ``InferenceSession.run``."""


@dataclass(frozen=True)
class GraphInput:
    """One model input as the build needs it: its name and numpy dtype."""

    name: str
    dtype: np.dtype[np.generic]


@dataclass(frozen=True)
class AdapterContext:
    """What an adapter may consult: the manifest, the model's inputs and a resolver for asset files."""

    manifest: Model
    inputs: list[GraphInput]
    find_file: Callable[[str], Path]


@dataclass(frozen=True)
class Dataset:
    """Instances as single-instance feeds (leading dimension 1), with optional class indices."""

    path: Path
    samples: list[Feeds]
    labels: np.ndarray | None = field(default=None)

    def __len__(self) -> int:
        return len(self.samples)

    def batches(self, size: int) -> Iterator[tuple[slice, Feeds]]:
        """Consecutive batches of at most ``size`` instances, collated as the runtime would batch them."""
        for start in range(0, len(self.samples), size):
            chunk = self.samples[start : start + size]
            yield slice(start, start + len(chunk)), collate(chunk)


class InputAdapter(Protocol):
    """Reads one dataset file into a ``Dataset`` for one task."""

    def load(self, path: Path, context: AdapterContext) -> Dataset:
        """Parse ``path``; errors name the file and what was expected."""
        ...


def collate(samples: list[Feeds]) -> Feeds:
    """Stack single-instance feeds into one batch, right-padding shorter ones with zeros.

    Zero is the padding every bundled convention uses: pad token id 0, attention mask 0, token type 0.
    """
    batch: Feeds = {}
    for name in samples[0]:
        arrays = [sample[name] for sample in samples]
        target = np.max([array.shape for array in arrays], axis=0)
        padded = [
            np.pad(array, [(0, int(want - have)) for want, have in zip(target, array.shape, strict=True)])
            for array in arrays
        ]
        batch[name] = np.concatenate(padded, axis=0)
    return batch


def label_indices(values: list[object], *, labels: list[str] | None, where: str) -> np.ndarray:
    """Class indices from integer labels or label names (looked up in the manifest's ``labels``)."""
    indices = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise DatasetError(f"{where}: label {value!r} is neither a class index nor a label name")
        if isinstance(value, str):
            if labels is None or value not in labels:
                raise DatasetError(f"{where}: label {value!r} is not in the manifest's `labels`")
            indices.append(labels.index(value))
        else:
            indices.append(value)
    return np.asarray(indices, dtype=np.int64)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` dataset file (pickles refused)."""
    if path.suffix != ".npz":
        raise DatasetError(f"{path}: image, tensor and tabular datasets are .npz files")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read it as .npz: {exc}") from None


def adapter_for(task: Task) -> InputAdapter:
    """The adapter that prepares inputs for ``task``."""
    from modelrail.builder.inputs.image import ImageAdapter
    from modelrail.builder.inputs.tensor import TabularAdapter, TensorAdapter
    from modelrail.builder.inputs.text import TextAdapter

    adapters: dict[Task, InputAdapter] = {
        Task.TEXT_EMBEDDING: TextAdapter(),
        Task.TEXT_CLASSIFICATION: TextAdapter(),
        Task.IMAGE_CLASSIFICATION: ImageAdapter(),
        Task.TENSOR: TensorAdapter(),
        Task.TABULAR: TabularAdapter(),
    }
    return adapters[task]


def load_dataset(path: Path, context: AdapterContext) -> Dataset:
    """Read ``path`` with the adapter for the manifest's task; an empty dataset is an error."""
    dataset = adapter_for(context.manifest.task).load(path, context)
    if not dataset.samples:
        raise DatasetError(f"{path}: the dataset has no instances")
    if dataset.labels is not None and len(dataset.labels) != len(dataset.samples):
        raise DatasetError(f"{path}: {len(dataset.labels)} labels for {len(dataset.samples)} instances")
    return dataset
