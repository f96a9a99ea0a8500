"""Save the served graph as ONNX Runtime optimizes it, so a cold start loads it instead of optimizing it again.

Only for CPU models: ONNX Runtime's extended optimizations are tied to the execution provider they run for (see
``modelrail.graph_options``), and a GPU model's must be made with the CUDA provider, which the build machine may
not have. Layout optimizations (level "all") are never saved: they depend on the CPU's instruction set, and
Lambda does not promise one.

The weights are saved as ONNX external data (``model.onnx.data`` beside ``model.onnx``; ONNX Runtime's session
config keys ``session.optimized_model_external_initializers_file_name`` and ``..._min_size_in_bytes``, in its
``onnxruntime_session_options_config_keys.h``). Loading such a model, ONNX Runtime maps the data file into memory
instead of parsing a 23 MB protobuf and copying every weight out of it: MiniLM's first session in a process
builds in about a third of the time with identical outputs (``docs/performance.md``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from modelrail.builder.errors import BuildError
from modelrail.builder.sessions import CPU
from modelrail.constants import MODEL_DATA_FILE
from modelrail.manifest import GraphOptimization, Target

EXTERNAL_MIN_BYTES = 1024
"""Initializers at least this large go to ``model.onnx.data``; smaller ones (shapes, scales) stay in the graph."""


def pre_optimize(source: Path, destination: Path, target: Target, *, fusions: dict[str, int]) -> GraphOptimization:
    """Write the served ``model.onnx`` to ``destination``: ORT-optimized for CPU targets (with its weights in
    ``model.onnx.data`` beside it), else ``source`` as it is."""
    import onnxruntime as ort

    for stale in (destination, destination.with_name(MODEL_DATA_FILE)):  # an earlier attempt's, never mixed in
        stale.unlink(missing_ok=True)
    if target is not Target.CPU:
        shutil.copyfile(source, destination)
        return GraphOptimization(level="none", fusions=fusions)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(destination)
    options.add_session_config_entry("session.optimized_model_external_initializers_file_name", MODEL_DATA_FILE)
    options.add_session_config_entry(
        "session.optimized_model_external_initializers_min_size_in_bytes", str(EXTERNAL_MIN_BYTES)
    )
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    try:
        ort.InferenceSession(str(source), sess_options=options, providers=[CPU])
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types, all plain Exceptions
        raise BuildError(f"ONNX Runtime cannot optimize {source.name}: {exc}") from None
    if not destination.is_file():
        raise BuildError(f"ONNX Runtime did not write the optimized graph of {source.name}")
    return GraphOptimization(level="extended", onnxruntime=ort.__version__, providers=[CPU], fusions=fusions)
