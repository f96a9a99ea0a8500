"""Which axis of each model input and output is the batch axis, or none (shared by the whole batch).

Declared per tensor in ``processing.batch_axes`` of a ``tensor`` model (``{state: 1, sr: null}``); every tensor
not declared gets its default from the graph where that is unambiguous:

- a 0-d tensor has none (a scalar such as a sample rate is shared by every instance);
- an output with a dimension named like an input's batch dimension (``B`` in ``[2, B, 128]``) batches along it;
- the only symbolic dimension, else the first axis when it is symbolic, else (every dimension fixed) the first.

Anything else (``[2, B, T]``: two symbolic dimensions, neither first) must be declared; the build and the
runtime refuse it with a message naming the tensor and the field. The build records the result in
``manifest.json``'s tensor specs, the runtime validates, splits and stacks by it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Dim = int | str | None
"""A graph dimension: a fixed size, a symbolic name, or ``None`` (dynamic without a name)."""

BatchAxes = dict[str, int | None]


class BatchAxisError(ValueError):
    """A declared batch axis that does not fit the graph, or a default that the graph leaves ambiguous."""


def _is_fixed(dim: Dim) -> bool:
    return isinstance(dim, int) and dim >= 0


def default_batch_axis(name: str, shape: Sequence[Dim], batch_symbols: set[str]) -> int | None:
    """The batch axis the graph implies for one tensor (see the module docstring)."""
    if not shape:
        return None
    named = [axis for axis, dim in enumerate(shape) if isinstance(dim, str) and dim in batch_symbols]
    if len(named) == 1:
        return named[0]
    dynamic = [axis for axis, dim in enumerate(shape) if not _is_fixed(dim)]
    if len(dynamic) == 1:
        return dynamic[0]
    if not dynamic or dynamic[0] == 0:
        return 0
    raise BatchAxisError(
        f"`{name}` has shape {_show(shape)}: its batch axis is ambiguous (several symbolic dimensions, none first); "
        f"declare it under `processing.batch_axes`, e.g. `batch_axes: {{{name}: {dynamic[0]}}}` "
        "(or `null` when the whole batch shares it)"
    )


def resolve_batch_axes(
    inputs: Sequence[tuple[str, Sequence[Dim]]],
    outputs: Sequence[tuple[str, Sequence[Dim]]],
    declared: Mapping[str, int | None],
) -> tuple[BatchAxes, BatchAxes]:
    """The batch axis of every input and output: declared ones checked against the graph, the rest defaulted."""
    known = {name for name, _ in inputs} | {name for name, _ in outputs}
    unknown = sorted(set(declared) - known)
    if unknown:
        raise BatchAxisError(
            f"`processing.batch_axes` names {unknown}, which the graph does not have; "
            f"its inputs and outputs are: {', '.join(sorted(known))}"
        )

    def one(name: str, shape: Sequence[Dim], symbols: set[str]) -> int | None:
        if name not in declared:
            return default_batch_axis(name, shape, symbols)
        axis = declared[name]
        if axis is not None and not 0 <= axis < len(shape):
            raise BatchAxisError(
                f"`processing.batch_axes.{name}` is {axis}, but `{name}` has shape {_show(shape)} "
                f"(axes 0 to {len(shape) - 1}); give one of those, or `null` for none"
            )
        return axis

    input_axes = {name: one(name, shape, set()) for name, shape in inputs}
    symbols = {
        str(shape[axis])
        for name, shape in inputs
        if (axis := input_axes[name]) is not None and isinstance(shape[axis], str)
    }
    output_axes = {name: one(name, shape, symbols) for name, shape in outputs}
    return input_axes, output_axes


def _show(shape: Sequence[Dim]) -> str:
    return "[" + ", ".join("?" if dim is None else str(dim) for dim in shape) + "]"
