"""``modelrail init NAME --onnx PATH``: a model folder with a minimal manifest that builds as it is.

The file is checked the way the build and the runtime will meet it: it must parse as ONNX, keep its weights in
the one file, and load in ONNX Runtime's CPU provider (the build runs there whatever the target). The manifest is
the shortest that builds: the task, ``source: model.onnx`` and ``quantization: none`` (served unchanged, so no
dataset is needed), and ``deploy:`` only when the target is not the default.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelrail.constants import MANIFEST_YAML, MODELS_DIR
from modelrail.datatypes import NUMPY_BY_DATATYPE, datatype_of_ort
from modelrail.manifest import NAME_PATTERN, Target, Task, parse_manifest

MODEL_FILE_NAME = "model.onnx"
INIT_TASKS = (Task.TENSOR, Task.TABULAR, Task.IMAGE_CLASSIFICATION)
"""Tasks whose processing ``init`` can read from the graph (text tasks also need a tokenizer file)."""
INLINE_ELEMENTS = 64
"""An example request with more elements than this goes to a file next to the manifest, not on the command line."""
EXAMPLE_REQUEST = "example-request.json"
DEFAULT_PORT = 3000


class InitError(ValueError):
    """``init`` refused: the message names the file or the name, what is wrong, and the fix."""


@dataclass(frozen=True)
class InputSignature:
    """One graph input as a caller must send it."""

    name: str
    datatype: str
    shape: list[int]
    """One instance, batch of 1, symbolic dimensions at small sizes."""


@dataclass(frozen=True)
class InitResult:
    """What ``init`` wrote and how to try it."""

    model_dir: Path
    manifest_path: Path
    manifest_text: str
    inputs: list[InputSignature]
    outputs: list[str]
    next_steps: str


def check_name(name: str, models_dir: Path) -> Path:
    """The new model's folder; a name that is not dns-safe or already taken is refused."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise InitError(
            f"model name {name!r} is not dns-safe; fix: use lower-case letters, digits and inner hyphens, "
            "at most 40 characters (it becomes part of URLs, function and endpoint names), e.g. "
            f"{re.sub(r'[^a-z0-9-]+', '-', name.lower()).strip('-')[:40] or 'my-model'!r}"
        )
    folder = models_dir / name
    if folder.exists():
        raise InitError(f"{folder} already exists: the name {name!r} is taken; fix: choose another name or remove it")
    return folder


def _opsets(model: Any) -> str:
    return ", ".join(f"{entry.domain or 'ai.onnx'} {entry.version}" for entry in model.opset_import) or "none"


_ORT_REASONS = (
    (
        re.compile(r"Opset (\d+) is under development.*?domain (\S+) is till opset (\d+)", re.S),
        "opset {0} of {1} is newer than the newest it supports ({2})",
    ),
    (
        re.compile(r"Could not find an implementation for (\w+)\((\d+)\)"),
        "it has no CPU kernel for operator {0} as of opset version {1} (an opset too old or too new for it)",
    ),
    (re.compile(r"No Op registered for (\w+) with domain_version of (\d+)"), "opset {1} has no operator {0}"),
    (
        re.compile(r"([\w.]+):(\w+)\(-?\d+\) is not a registered function/op"),
        "operator {1} of domain {0} is unknown to it",
    ),
)


def ort_reason(message: str) -> str:
    """ONNX Runtime's load error without its status prefix and C++ source location, in plain words if known."""
    for pattern, words in _ORT_REASONS:
        found = pattern.search(message)
        if found:
            return words.format(*found.groups())
    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : (Load model from \S+ failed:)?", "", message.strip())
    text = re.sub(r"\S+\.(h|cc):\d+ [^)]*\)\s*", "", text)  # e.g. "model_load_utils.h:46 void f(...) "
    return text.splitlines()[0].strip() if text.strip() else ""


def load_checked(onnx_path: Path) -> Any:
    """The graph's ONNX Runtime CPU session, or an ``InitError`` in the user's terms."""
    import onnx
    import onnxruntime as ort
    from google.protobuf.message import DecodeError

    if not onnx_path.is_file():
        raise InitError(f"{onnx_path}: no such file; fix: pass the path of an .onnx file with --onnx")
    try:
        model = onnx.load(str(onnx_path), load_external_data=False)
    except (DecodeError, ValueError, RuntimeError, OSError) as exc:
        raise InitError(
            f"{onnx_path} is not an ONNX file ({type(exc).__name__}: {exc}); fix: pass a model exported to ONNX "
            "(torch.onnx.export, tf2onnx, skl2onnx, ...)"
        ) from None
    if not model.graph.node and not model.graph.output:
        raise InitError(f"{onnx_path} is not an ONNX file (no graph in it); fix: pass a model exported to ONNX")
    external = [tensor.name for tensor in model.graph.initializer if tensor.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        raise InitError(
            f"{onnx_path} keeps {len(external)} weight(s) in external data files, and init copies one file; fix: "
            "save it as one file: onnx.save(onnx.load(path), 'model.onnx', save_as_external_data=False)"
        )
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/NotImplemented types, all plain Exceptions
        reason = ort_reason(str(exc)) or type(exc).__name__
        raise InitError(
            f"{onnx_path}: ONNX Runtime {ort.__version__}'s CPU provider cannot run this graph (opsets: "
            f"{_opsets(model)}): {reason}; fix: re-export it with an opset and operators ONNX Runtime supports "
            "(e.g. an older opset_version in torch.onnx.export, or onnx.version_converter), replacing any custom "
            "operator"
        ) from None


def signature(session: Any) -> list[InputSignature]:
    """Each input's name, OIP datatype and the shape of one example instance."""
    from modelrail.builder.inputs.synthetic import instance_shape

    found = []
    for spec in session.get_inputs():
        try:
            datatype = datatype_of_ort(spec.type)
        except ValueError as exc:
            raise InitError(f"graph input `{spec.name}`: {exc}") from None
        found.append(InputSignature(spec.name, datatype, instance_shape(list(spec.shape), name=spec.name)))
    return found


def _processing(task: Task, session: Any, onnx_path: Path) -> list[str]:
    """Manifest lines for the task's processing, read from the graph; empty for ``tensor``."""
    inputs = session.get_inputs()
    if task is Task.TENSOR:
        return []
    if len(inputs) != 1:
        raise InitError(
            f"{onnx_path}: task `{task.value}` takes one input; this graph has {[i.name for i in inputs]}; "
            "fix: use --task tensor"
        )
    shape = list(inputs[0].shape)
    if task is Task.TABULAR:
        if len(shape) != 2 or not isinstance(shape[1], int):
            raise InitError(f"{onnx_path}: task `tabular` needs an input [batch, features]; it has {shape}")
        names = ", ".join(f"f{index}" for index in range(shape[1]))
        return [
            "processing:",
            f"  features: [{names}]  # instance keys in the model's column order; rename them to your columns",
        ]
    if len(shape) == 4 and shape[1] in (1, 3) and isinstance(shape[2], int) and isinstance(shape[3], int):
        layout, channels, height, width = "NCHW", shape[1], shape[2], shape[3]
    elif len(shape) == 4 and shape[3] in (1, 3) and isinstance(shape[1], int) and isinstance(shape[2], int):
        layout, channels, height, width = "NHWC", shape[3], shape[1], shape[2]
    else:
        raise InitError(
            f"{onnx_path}: task `image-classification` needs one input [batch, 1|3, h, w] or [batch, h, w, 1|3] "
            f"with fixed sizes; it has {shape}; fix: use --task tensor"
        )
    return [
        "processing:  # how an uploaded image becomes the input; check scale/mean/std against your training",
        f"  width: {width}",
        f"  height: {height}",
        f"  color: {'grayscale' if channels == 1 else 'rgb'}",
        f"  layout: {layout}",
    ]


def manifest_text(name: str, task: Task, target: Target, processing: list[str], origin: str) -> str:
    """The shortest manifest that builds, with a comment per line."""
    lines = [
        "# yaml-language-server: $schema=../model.schema.json",
        f"# Written by `modelrail init` from {origin}; every field is in docs/build.md.",
        f"name: {name}",
        'version: "1"',
        f"task: {task.value}",
        f"source: {MODEL_FILE_NAME}  # the fp32 ONNX file in this folder",
        "quantization: none  # served unchanged, so no dataset is needed; int8 (dynamic/static) needs a `gate:`",
        *processing,
    ]
    if target is not Target.CPU:
        lines += ["deploy:", f"  target: {target.value}  # a SageMaker real-time endpoint (the default cpu is Lambda)"]
    return "\n".join(lines) + "\n"


def example_arrays(inputs: list[InputSignature]) -> dict[str, np.ndarray]:
    """One valid instance per input (the values the build times the model on, floats rounded for reading)."""
    from modelrail.builder.inputs.synthetic import SEED, synthetic_value

    rng = np.random.default_rng(SEED)
    arrays = {}
    for spec in inputs:
        value = synthetic_value(spec.name, NUMPY_BY_DATATYPE[spec.datatype], spec.shape, rng)
        arrays[spec.name] = value.round(2) if value.dtype.kind == "f" else value
    return arrays


def v2_request(inputs: list[InputSignature]) -> dict[str, Any]:
    """The Open Inference Protocol JSON body for one example instance."""
    arrays = example_arrays(inputs)
    return {
        "inputs": [
            {"name": spec.name, "datatype": spec.datatype, "shape": spec.shape, "data": arrays[spec.name].tolist()}
            for spec in inputs
        ]
    }


def _next_steps(name: str, model_dir: Path, models_dir: Path, inputs: list[InputSignature], outputs: list[str]) -> str:
    where = "" if models_dir == Path(MODELS_DIR) else f" --models-dir {models_dir}"
    url = f"http://localhost:{DEFAULT_PORT}/v2/models/{name}/infer"
    body = json.dumps(v2_request(inputs), separators=(",", ":"))
    if sum(int(np.prod(spec.shape)) for spec in inputs) > INLINE_ELEMENTS:
        request_file = model_dir / EXAMPLE_REQUEST
        request_file.write_text(body + "\n", encoding="utf-8")
        data = f"@{request_file}"
    else:
        data = f"'{body}'"
    triton = [
        "import numpy as np",
        "import tritonclient.http as httpclient",
        "",
        f'client = httpclient.InferenceServerClient("localhost:{DEFAULT_PORT}")',
        "inputs = []",
    ]
    for spec in inputs:
        dtype = NUMPY_BY_DATATYPE[spec.datatype].name
        value = "np.ones" if dtype == "bool" or "mask" in spec.name.lower() else "np.zeros"
        triton += [
            f'tensor = httpclient.InferInput("{spec.name}", {spec.shape}, "{spec.datatype}")',
            f"tensor.set_data_from_numpy({value}({spec.shape}, dtype=np.{dtype}))  # your data here",
            "inputs.append(tensor)",
        ]
    triton += [f'result = client.infer("{name}", inputs)'] + [f'print(result.as_numpy("{out}"))' for out in outputs]
    return "\n".join(
        [
            "Next:",
            f"  modelrail build {name}{where}",
            f"  modelrail local up {name}{where}   # serves http://localhost:{DEFAULT_PORT}",
            "",
            "Then, from another terminal:",
            f"  curl -s {url} -H 'content-type: application/json' -d {data}",
            "",
            "or in Python (pip install 'tritonclient[http]'):",
            *(f"  {line}" if line else "" for line in triton),
        ]
    )


def init_model(
    name: str,
    onnx_path: Path,
    *,
    models_dir: Path = Path(MODELS_DIR),
    task: Task = Task.TENSOR,
    target: Target = Target.CPU,
    link: bool = False,
) -> InitResult:
    """Check ``onnx_path``, then create ``models_dir/name/`` with the model file and a manifest that builds."""
    if task not in INIT_TASKS:
        raise InitError(
            f"init cannot write a `{task.value}` manifest yet (text tasks need a tokenizer.json); fix: use "
            f"--task {' | '.join(t.value for t in INIT_TASKS)}, or write the manifest by hand (docs/build.md)"
        )
    model_dir = check_name(name, models_dir)
    session = load_checked(onnx_path)
    inputs = signature(session)
    outputs = [spec.name for spec in session.get_outputs()]
    text = manifest_text(name, task, target, _processing(task, session, onnx_path), onnx_path.name)
    import yaml

    parse_manifest(yaml.safe_load(text), path=model_dir / MANIFEST_YAML)  # it must build as written
    model_dir.mkdir(parents=True)
    try:
        if link:
            (model_dir / MODEL_FILE_NAME).symlink_to(onnx_path.resolve())
        else:
            shutil.copyfile(onnx_path, model_dir / MODEL_FILE_NAME)
        manifest_path = model_dir / MANIFEST_YAML
        manifest_path.write_text(text, encoding="utf-8")
        steps = _next_steps(name, model_dir, models_dir, inputs, outputs)
    except BaseException:
        shutil.rmtree(model_dir, ignore_errors=True)  # never leave a half-made folder that takes the name
        raise
    return InitResult(model_dir, manifest_path, text, inputs, outputs, steps)
