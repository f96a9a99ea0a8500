"""int8 quantization with ONNX Runtime: pre-processing, dynamic (weights only) and static (QDQ, calibrated)."""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from modelrail.builder.errors import BuildError
from modelrail.builder.inputs import Feeds
from modelrail.manifest import Quantization

_CALIBRATION_METHODS = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}


@contextlib.contextmanager
def quiet_ort_logging() -> Iterator[None]:
    # ORT's quantization tools log through the root logger ("Please consider to run pre-processing", per-node
    # notes); the build prints its own progress, so silence them for the call.
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(previous)


def preprocess(source: Path, destination: Path) -> str:
    """ONNX Runtime's quantization pre-processing; returns what ran, for the build report.

    Symbolic shape inference is what makes transformer graphs quantize well, but it gives up on some graphs;
    then the model is still optimized and shape-inferred by ONNX, and the report says so.
    """
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source, destination = source.resolve(), destination.resolve()  # the scratch chdir below must not move them
    # Symbolic shape inference saves a scratch model into the working directory when it fails; keep it there.
    with (
        tempfile.TemporaryDirectory(prefix="modelrail-preprocess-") as scratch,
        contextlib.chdir(scratch),
        quiet_ort_logging(),
    ):
        try:
            quant_pre_process(str(source), str(destination))
            return "symbolic shape inference + ORT basic optimizations + ONNX shape inference"
        except OSError:
            raise
        except Exception as exc:  # ORT raises a bare Exception (or a TypeError) when inference gives up
            quant_pre_process(str(source), str(destination), skip_symbolic_shape=True)
            return f"ORT basic optimizations + ONNX shape inference (symbolic shape inference failed: {exc})"


def check_node_names(model_path: Path, names: Sequence[str]) -> None:
    """Refuse ``exclude_nodes`` entries that name no node: a typo would silently quantize the node."""
    import onnx

    if not names:
        return
    present = {node.name for node in onnx.load(str(model_path), load_external_data=False).graph.node}
    missing = [name for name in names if name not in present]
    if missing:
        sample = sorted(present)[:5]
        raise BuildError(
            f"quantization.exclude_nodes: no node named {missing} in the graph; node names look like {sample}"
        )


def quantize_dynamic_int8(source: Path, destination: Path, quantization: Quantization) -> None:
    """int8 weights; activation scales computed per call over the whole input tensor."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    check_node_names(source, quantization.exclude_nodes)
    with quiet_ort_logging():
        quantize_dynamic(
            str(source),
            str(destination),
            op_types_to_quantize=quantization.op_types,
            per_channel=quantization.per_channel,
            reduce_range=quantization.reduce_range,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=list(quantization.exclude_nodes),
        )


def quantize_static_int8(
    source: Path, destination: Path, quantization: Quantization, calibration: Sequence[Feeds]
) -> None:
    """int8 weights and activations in QDQ form, activation ranges fixed from ``calibration`` feeds."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, quantize_static

    assert quantization.calibration is not None  # the manifest schema requires it for static mode

    class _Reader(CalibrationDataReader):  # type: ignore[misc]  # ORT ships no type information
        def __init__(self) -> None:
            self._feeds = iter(calibration)

        def get_next(self) -> Feeds | None:
            return next(self._feeds, None)

    check_node_names(source, quantization.exclude_nodes)
    source, destination = source.resolve(), destination.resolve()  # the scratch chdir below must not move them
    method = getattr(CalibrationMethod, _CALIBRATION_METHODS[quantization.calibration.method])
    # The calibrator writes an augmented model next to its scratch files; keep those out of the artifact.
    with (
        tempfile.TemporaryDirectory(prefix="modelrail-calibrate-") as scratch,
        contextlib.chdir(scratch),
        quiet_ort_logging(),
    ):
        quantize_static(
            str(source),
            str(destination),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=quantization.op_types,
            per_channel=quantization.per_channel,
            reduce_range=quantization.reduce_range,
            nodes_to_exclude=list(quantization.exclude_nodes),
            calibrate_method=method,
        )
