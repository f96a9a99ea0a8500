"""MiniLM int8 variants through the build's own quantizer, gate and latency code: why the shipped settings.

Prints, per variant, size vs fp32, gate metrics at batch 1 and batch 8 (the batch-mate effect of dynamic int8)
and the interleaved p50 ratio at batch 1. Run from the repository root after `modelrail build minilm`:

    .venv/bin/python bench/build_quantization.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from modelrail.builder import ensure_source, latency
from modelrail.builder.gate import run_gate
from modelrail.builder.inputs import AdapterContext, load_dataset
from modelrail.builder.quantize import quantize
from modelrail.builder.sessions import graph_inputs, open_session
from modelrail.manifest import load_manifest

VARIANTS = {
    "shipped: per-channel, position/token-type tables fp32": {},
    "per-channel, every Gather/MatMul quantized": {"exclude_nodes": []},
    "per-tensor": {"per_channel": False, "exclude_nodes": []},
}


def main() -> None:
    """Quantize each variant, gate it at batch 1 and 8, and time it against fp32."""
    manifest = load_manifest(Path("models/minilm/model.yaml"))
    assert manifest.gate is not None
    source = ensure_source("minilm")
    fp32 = open_session(source.fp32_model)
    context = AdapterContext(manifest=manifest, inputs=graph_inputs(fp32), find_file=source.find)
    dataset = load_dataset(source.find(manifest.gate.dataset), context)
    gate = manifest.gate.model_copy(update={"batch_sizes": [1, 8]})
    typical = latency.typical_instance(dataset)
    print(f"{len(dataset)} sentences; latency input shape {typical['input_ids'].shape}; 1 thread")
    print("| variant | size / fp32 | batch 1: cos mean / min / spearman | batch 8: cos min | p50 / fp32 |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as scratch:
        for label, changes in VARIANTS.items():
            served_path = Path(scratch) / "model.onnx"
            settings = manifest.quantization.model_copy(update=changes)
            quantize(source.fp32_model, served_path, settings, scratch=Path(scratch))
            served = open_session(served_path)
            outcome = run_gate(gate, dataset, reference_session=fp32, served_session=served)
            one, eight = outcome.results[1], outcome.results[8]
            timing = latency.measure(fp32, served, typical)
            size = served_path.stat().st_size / source.fp32_model.stat().st_size
            print(
                f"| {label} | {size:.3f} | {one['cosine_mean']:.4f} / {one['cosine_min']:.4f} / "
                f"{one['spearman']:.4f} | {eight['cosine_min']:.4f} | {timing.ratio:.3f} |"
            )


if __name__ == "__main__":
    main()
