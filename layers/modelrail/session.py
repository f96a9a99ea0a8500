"""The ONNX Runtime session: built once per process, its input/output specs read once, inputs checked per call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from modelrail.batch_axes import BatchAxisError, Dim, resolve_batch_axes
from modelrail.constants import ENV_PROVIDERS, ENV_REQUIRE_CUDA
from modelrail.cuda_info import gpu_platform
from modelrail.datatypes import NUMPY_BY_DATATYPE, datatype_of_ort
from modelrail.errors import InvalidInputError, ModelUnavailableError, UnprocessableInputError
from modelrail.graph_options import level_for, ort_level
from modelrail.logs import get_logger
from modelrail.manifest import GraphOptimization, TensorSpec

if TYPE_CHECKING:
    import onnxruntime as ort

log = get_logger("session")

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"

Feeds = dict[str, np.ndarray]


def resolve_providers(requested: Sequence[str] | None, *, available: Sequence[str], known: Sequence[str]) -> list[str]:
    """Execution providers to ask for, in order: CUDA when available, else CPU; CPU always last as fallback.

    Names that ONNX Runtime does not know are a configuration error; known but unavailable ones are skipped
    with a log line (e.g. CUDA asked for on a machine without a GPU).
    """
    if requested is None:
        requested = [CUDA, CPU] if CUDA in available else [CPU]
        if CUDA not in available:
            log.info("CUDA execution provider not available; serving on CPU", extra={"available": list(available)})
    unknown = [name for name in requested if name not in known]
    if unknown:
        raise ModelUnavailableError(
            f"unknown ONNX Runtime execution provider(s) {unknown} in MODELRAIL_PROVIDERS; "
            f"available here: {', '.join(available)}"
        )
    chosen = [name for name in requested if name in available]
    skipped = [name for name in requested if name not in available]
    if skipped:
        log.warning(
            "execution provider(s) not available in this onnxruntime build; falling back",
            extra={"skipped": skipped, "available": list(available)},
        )
    if CPU not in chosen:
        chosen.append(CPU)
    return chosen


def _dims(node: ort.NodeArg) -> list[Dim]:
    return [dim if isinstance(dim, int | str) else None for dim in (node.shape or [])]


def _spec(node: ort.NodeArg, batch_axis: int | None) -> TensorSpec:
    shape = [dim if isinstance(dim, int) and dim >= 0 else -1 for dim in (node.shape or [])]
    return TensorSpec(name=node.name, datatype=datatype_of_ort(node.type), shape=shape, batch_axis=batch_axis)


class ModelSession:
    """One ONNX Runtime inference session plus what callers need to know about it."""

    def __init__(
        self,
        model_path: Path,
        *,
        providers: Sequence[str] | None,
        intra_op_threads: int,
        inter_op_threads: int,
        max_batch_size: int,
        spin: bool = True,
        require_cuda: bool = False,
        batch_axes: Mapping[str, int | None] | None = None,
        graph: GraphOptimization | None = None,
    ) -> None:
        """``batch_axes``: the declared ones (``processing.batch_axes``); the rest default from the graph.

        ``graph``: what the build optimized ahead of time (``BuiltManifest.graph``); ``modelrail.graph_options``
        picks the optimization level from it, as the build's gate did.
        """
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = intra_op_threads
        options.inter_op_num_threads = inter_op_threads
        if not spin:
            # Spinning workers burn the fractional vCPU a small Lambda function has, starving the main thread.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        if require_cuda and providers is not None and CUDA not in providers:
            raise ModelUnavailableError(
                f"{ENV_REQUIRE_CUDA} is true but {ENV_PROVIDERS} ({','.join(providers)}) does not name {CUDA}; "
                f"add it, or unset {ENV_REQUIRE_CUDA} to serve on CPU"
            )
        requested = [CUDA, CPU] if require_cuda and providers is None else providers
        available = ort.get_available_providers()
        chosen = resolve_providers(requested, available=available, known=ort.get_all_providers())
        wants_cuda = CUDA in (requested or chosen)
        level, fallback = level_for(graph, onnxruntime_version=ort.__version__, providers=chosen)
        options.graph_optimization_level = ort_level(level)
        if fallback is not None:
            log.warning("pre-optimized graph not used as it is", extra={"reason": fallback})
        self.graph_optimization: str = level
        """``disabled`` for a pre-optimized graph loaded as built, else ``all`` (ORT optimizes at session build)."""
        self.platform: dict[str, str] = gpu_platform() if wants_cuda else {}
        """Driver, CUDA driver/runtime and ONNX Runtime versions, where CUDA was asked for (metadata, logs)."""
        try:
            self._session = ort.InferenceSession(str(model_path), sess_options=options, providers=chosen)
        except Exception as exc:  # ORT raises its own pybind types; any failure means "cannot serve"
            raise ModelUnavailableError(
                f"{model_path.name} cannot be loaded by onnxruntime {ort.__version__}: {str(exc)[:300]}"
            ) from None
        self.provider: str = self._session.get_providers()[0]
        if require_cuda and self.provider != CUDA:
            _refuse_cpu_fallback(model_path, self.provider, available, self.platform)
        graph_inputs, graph_outputs = self._session.get_inputs(), self._session.get_outputs()
        try:
            input_axes, output_axes = resolve_batch_axes(
                [(node.name, _dims(node)) for node in graph_inputs],
                [(node.name, _dims(node)) for node in graph_outputs],
                batch_axes or {},
            )
        except BatchAxisError as exc:
            raise ModelUnavailableError(f"{model_path.name}: {exc}") from None
        self.inputs = [_spec(node, input_axes[node.name]) for node in graph_inputs]
        self.outputs = [_spec(node, output_axes[node.name]) for node in graph_outputs]
        self._inputs_by_name = {spec.name: spec for spec in self.inputs}
        self._outputs_by_name = {spec.name: spec for spec in self.outputs}
        self.output_names = [spec.name for spec in self.outputs]
        self.max_batch_size = _effective_batch_limit(max_batch_size, self.inputs)
        self._use_io_binding = self.provider == CUDA
        log.info(
            "session ready",
            extra={
                "provider": self.provider,
                "providers": chosen,
                "intra_op_threads": intra_op_threads,
                "graph_optimization": level,
                "onnxruntime": ort.__version__,
                **self.platform,
            },
        )

    def input_spec(self, name: str) -> TensorSpec:
        """The spec of one input."""
        return self._inputs_by_name[name]

    def check(self, feeds: Feeds) -> None:
        """Check names, datatypes and shapes against the model's inputs; messages name the input."""
        expected = ", ".join(self._inputs_by_name)
        for name in feeds:
            if name not in self._inputs_by_name:
                raise InvalidInputError(f"unknown input `{name}`; the model's inputs are: {expected}")
        for spec in self.inputs:
            if spec.name not in feeds:
                raise InvalidInputError(
                    f"missing input `{spec.name}` (datatype {spec.datatype}, shape {spec.shape}); "
                    f"the model's inputs are: {expected}"
                )
            array = feeds[spec.name]
            if array.dtype != NUMPY_BY_DATATYPE[spec.datatype]:
                raise InvalidInputError(
                    f"input `{spec.name}`: expected datatype {spec.datatype}, got {_datatype_name(array)}"
                )
            if len(array.shape) != len(spec.shape) or any(
                want not in (-1, got) for want, got in zip(spec.shape, array.shape, strict=True)
            ):
                raise InvalidInputError(
                    f"input `{spec.name}`: expected shape {spec.shape} (-1 = any size), got {list(array.shape)}"
                )
        sizes = {
            spec.name: feeds[spec.name].shape[spec.batch_axis] for spec in self.inputs if spec.batch_axis is not None
        }
        if len(set(sizes.values())) > 1:
            described = ", ".join(
                f"`{name}` has {size} along axis {self._inputs_by_name[name].batch_axis}"
                for name, size in sizes.items()
            )
            raise InvalidInputError(f"the inputs disagree on the batch size: {described}")

    def batch_size(self, feeds: Feeds) -> int | None:
        """The batch size of checked feeds (``None`` when no input has a batch axis)."""
        for spec in self.inputs:
            if spec.batch_axis is not None:
                return int(feeds[spec.name].shape[spec.batch_axis])
        return None

    def run(self, feeds: Feeds, output_names: Sequence[str] | None = None) -> Feeds:
        """One session call; the caller keeps the batch within ``max_batch_size``."""
        names = list(output_names or self.output_names)
        try:
            if self._use_io_binding:
                return self._run_io_binding(feeds, names)
            results = self._session.run(names, feeds)
        except Exception as exc:  # an input our checks let through (e.g. a token id past the vocabulary)
            # ONNX Runtime's message names graph nodes and kernels: logs only, the caller gets its own terms.
            log.warning("session run failed", extra={"error": _first_line(exc), "provider": self.provider})
            raise UnprocessableInputError(
                "the model could not run on these inputs (a value or size it cannot take); "
                "the cause is logged under this request id"
            ) from None
        return dict(zip(names, results, strict=True))

    def run_batched(self, feeds: Feeds, output_names: Sequence[str] | None = None) -> Feeds:
        """Run checked feeds in chunks of at most ``max_batch_size`` along each input's batch axis.

        Shared inputs (no batch axis) go whole into every chunk; outputs are joined along their batch axes.
        """
        batch = self.batch_size(feeds)
        if batch is None or batch <= self.max_batch_size:
            return self.run(feeds, output_names)
        parts = []
        for start in range(0, batch, self.max_batch_size):
            window = slice(start, start + self.max_batch_size)
            chunk = {
                name: array if (axis := self._inputs_by_name[name].batch_axis) is None else _take(array, axis, window)
                for name, array in feeds.items()
            }
            parts.append(self.run(chunk, output_names))
        return {name: self._join(name, [part[name] for part in parts]) for name in parts[0]}

    def _join(self, name: str, parts: list[np.ndarray]) -> np.ndarray:
        axis = self._outputs_by_name[name].batch_axis
        if axis is not None:
            return np.concatenate(parts, axis=axis)
        if any(not np.array_equal(part, parts[0]) for part in parts[1:]):
            raise UnprocessableInputError(
                f"output `{name}` has no batch axis and differs between chunks of {self.max_batch_size}; "
                f"send at most {self.max_batch_size} instances per request"
            )
        return parts[0]

    def _run_io_binding(self, feeds: Feeds, names: list[str]) -> Feeds:
        # On CUDA, binding lets ORT allocate outputs on its own and copy each input to the device once.
        binding = self._session.io_binding()
        for name, array in feeds.items():
            binding.bind_cpu_input(name, np.ascontiguousarray(array))
        for name in names:
            binding.bind_output(name)
        self._session.run_with_iobinding(binding)
        return dict(zip(names, binding.copy_outputs_to_cpu(), strict=True))


def _refuse_cpu_fallback(model_path: Path, provider: str, available: Sequence[str], platform: dict[str, str]) -> None:
    """Fail closed: on a GPU endpoint, serving on the CPU provider would pass every check at GPU prices."""
    log.error(
        "CUDA execution provider required but not started; refusing to serve on CPU",
        extra={"provider": provider, "available": list(available), **platform},
    )
    raise ModelUnavailableError(
        f"{ENV_REQUIRE_CUDA} is true but {model_path.name} would run on {provider}: the CUDA provider did not start "
        f"(NVIDIA driver {platform['nvidia_driver']}, CUDA driver {platform['cuda_driver']}, CUDA runtime "
        f"{platform['cuda_runtime']}, onnxruntime {platform['onnxruntime']} built for CUDA "
        f"{platform['onnxruntime_cuda']}). Give the endpoint an InferenceAmiVersion whose driver runs this image, "
        "or set `deploy.cpu_fallback: true` in the manifest to serve on CPU"
    )


def _effective_batch_limit(max_batch_size: int, inputs: list[TensorSpec]) -> int:
    """The build's limit, lowered to a fixed batch dimension; 1 when no input has a batch axis."""
    batched = [spec for spec in inputs if spec.batch_axis is not None]
    if not batched:
        return 1
    fixed = [spec.shape[spec.batch_axis] for spec in batched if spec.batch_axis is not None]
    return min([max_batch_size, *(size for size in fixed if size > 0)])


def _take(array: np.ndarray, axis: int, window: slice) -> np.ndarray:
    index: list[slice] = [slice(None)] * array.ndim
    index[axis] = window
    return array[tuple(index)]


def _datatype_name(array: np.ndarray) -> str:
    for name, dtype in NUMPY_BY_DATATYPE.items():
        if dtype == array.dtype:
            return name
    return str(array.dtype)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
