"""Inputs made from the graph's signature, for a build with no dataset.

A model served unchanged (``quantization: none``) needs inputs only to be timed; an fp16 model without a
``gate:`` is compared with fp32 on them. Each input gets its declared dtype and shape: a symbolic leading
dimension is the instance dimension (size 1 per instance), any other symbolic dimension gets
``SYMBOLIC_SIZE``. Values are chosen to be valid for any graph: floats are seeded standard-normal noise;
integers are 0 (always a valid index into an embedding table or a class list), except inputs named like a
mask, which are 1 (a mask of zeros hides everything); booleans are true.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelrail.builder.errors import BuildError
from modelrail.builder.inputs import Dataset, Feeds
from modelrail.datatypes import NUMPY_BY_DATATYPE, datatype_of_ort

SYNTHESIZED = "(synthesized from the graph's signature)"
"""What report.json names as the dataset of a build that had none."""
SYMBOLIC_SIZE = 8
"""Size given to a symbolic dimension other than the leading one (e.g. a sequence length)."""
INSTANCES = 8
"""Instances synthesized when the leading dimension is symbolic (so batches of 1 to 8 can be formed)."""
SEED = 0


def instance_shape(shape: list[Any], *, name: str = "") -> list[int]:
    """One instance's shape: its batch axis (read from the graph as the runtime reads it; the leading axis when
    that is ambiguous) becomes 1 when symbolic, other symbolic dimensions ``SYMBOLIC_SIZE``."""
    from modelrail.batch_axes import BatchAxisError, default_batch_axis

    try:
        batch_axis = default_batch_axis(name, shape, set())
    except BatchAxisError:
        batch_axis = 0
    sizes = []
    for axis, dim in enumerate(shape):
        if isinstance(dim, int) and dim >= 0:
            sizes.append(dim)
        else:
            sizes.append(1 if axis == batch_axis else SYMBOLIC_SIZE)
    return sizes


def batchable(session: Any) -> bool:
    """Whether every input's leading dimension is symbolic, so instances can be stacked into batches."""
    return all(spec.shape and not isinstance(spec.shape[0], int) for spec in session.get_inputs())


def synthetic_value(name: str, dtype: np.dtype[np.generic], shape: list[int], rng: np.random.Generator) -> np.ndarray:
    """One input's value, valid for any graph (see the module's docstring)."""
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind == "b":
        return np.ones(shape, dtype=dtype)
    if dtype.kind in "iu":
        return (np.ones if "mask" in name.lower() else np.zeros)(shape, dtype=dtype)
    raise BuildError(f"model input `{name}` has dtype {dtype}; inputs of this type cannot be synthesized")


def synthesize(session: Any) -> Dataset:
    """Instances matching ``session``'s inputs: ``INSTANCES`` of them when batchable, else one."""
    rng = np.random.default_rng(SEED)
    specs = []
    for spec in session.get_inputs():
        try:
            dtype = NUMPY_BY_DATATYPE[datatype_of_ort(spec.type)]
        except ValueError as exc:
            raise BuildError(f"model input `{spec.name}`: {exc}") from None
        specs.append((spec.name, dtype, instance_shape(list(spec.shape), name=spec.name)))
    count = INSTANCES if batchable(session) else 1
    samples: list[Feeds] = [
        {name: synthetic_value(name, dtype, shape, rng) for name, dtype, shape in specs} for _ in range(count)
    ]
    return Dataset(path=Path(SYNTHESIZED), samples=samples)
