"""Raw tensor and tabular datasets: ``.npz`` files of arrays with a leading instance dimension."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelrail.builder.errors import DatasetError
from modelrail.builder.inputs import AdapterContext, Dataset, Feeds, label_indices, read_npz


def _split(
    path: Path, columns: dict[str, np.ndarray], arrays: dict[str, np.ndarray], context: AdapterContext
) -> Dataset:
    counts = {len(array) for array in columns.values()}
    if len(counts) != 1:
        raise DatasetError(f"{path}: arrays have different instance counts {sorted(counts)}")
    count = counts.pop()
    samples: list[Feeds] = [
        {name: array[index : index + 1] for name, array in columns.items()} for index in range(count)
    ]
    labels = None
    if "labels" in arrays:
        labels = label_indices(arrays["labels"].tolist(), labels=context.manifest.labels, where=str(path))
    return Dataset(path=path, samples=samples, labels=labels)


class TensorAdapter:
    """One array per model input, named as the input; ``labels`` optional."""

    def load(self, path: Path, context: AdapterContext) -> Dataset:
        """Split each input's array into single-instance feeds, cast to the input's dtype."""
        arrays = read_npz(path)
        missing = [spec.name for spec in context.inputs if spec.name not in arrays]
        if missing:
            raise DatasetError(f"{path}: no array for model input(s) {missing}; it has {sorted(arrays)}")
        columns = {spec.name: arrays[spec.name].astype(spec.dtype, copy=False) for spec in context.inputs}
        return _split(path, columns, arrays, context)


class TabularAdapter:
    """A ``rows`` array ``[n, features]`` for the model's single input; ``labels`` optional."""

    def load(self, path: Path, context: AdapterContext) -> Dataset:
        """Split ``rows`` into single-row feeds."""
        arrays = read_npz(path)
        if "rows" not in arrays:
            raise DatasetError(f"{path}: no `rows` array ([n, features], in `processing.features` order)")
        if len(context.inputs) != 1:
            raise DatasetError(f"tabular models take one input; this one has {[i.name for i in context.inputs]}")
        spec = context.inputs[0]
        return _split(path, {spec.name: arrays["rows"].astype(spec.dtype, copy=False)}, arrays, context)
