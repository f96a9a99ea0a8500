"""``build_models``: for each model, source -> quantize -> gate -> latency -> package -> publish.

A model that fails any step (including its gate) publishes nothing: its previous artifact, if any, stays as it
was. Unchanged inputs (see ``input_hash``) skip the model entirely unless ``force``.
"""

from __future__ import annotations

import shutil
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from modelrail.builder import progress
from modelrail.builder.artifact import describe_files, new_staging_dir, publish, remove_leftovers, write_json
from modelrail.builder.errors import BuildError, BuildFailedError
from modelrail.builder.hashing import InputHasher
from modelrail.builder.paths import BuildPaths
from modelrail.builder.report import BuildReport
from modelrail.builder.sources import DEFAULT_SCRIPT_TIMEOUT_S, ModelSource, prepare_source, source_key
from modelrail.constants import BUILD_DIR, MANIFEST_JSON, MODEL_DATA_FILE, MODEL_FILE, MODELS_DIR, REPORT_JSON
from modelrail.manifest import (
    BuiltManifest,
    GraphOptimization,
    Manifest,
    ManifestError,
    ServingHints,
    TextProcessing,
    discover_manifests,
    load_manifest,
)
from modelrail.store.current import ArtifactNotCurrentError, current_artifact

RESERVED_FILES = {MODEL_FILE, MODEL_DATA_FILE, MANIFEST_JSON, REPORT_JSON}


@dataclass(frozen=True)
class BuildResult:
    """The outcome for one model."""

    name: str
    status: Literal["built", "up-to-date", "failed"]
    seconds: float
    version: str | None = None
    artifact_dir: Path | None = None
    report: BuildReport | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether a complete, current artifact exists for this model."""
        return self.status != "failed"


def select_manifests(names: Sequence[str] | None, models_dir: Path) -> dict[str, Path]:
    """Manifest paths for ``names`` (all models when None); unknown names are an error listing the known ones."""
    found = discover_manifests(models_dir)
    if not names:
        if not found:
            raise ManifestError(f"{models_dir}: no */model.yaml found; add a model folder with a model.yaml")
        return found
    unknown = [name for name in names if name not in found]
    if unknown:
        raise ManifestError(f"no model named {unknown} in {models_dir} (models there: {', '.join(found) or 'none'})")
    return {name: found[name] for name in names}


def check_manifests(names: Sequence[str] | None = None, *, models_dir: Path = Path(MODELS_DIR)) -> dict[str, Manifest]:
    """Validate manifests without building; raises ``ManifestError`` carrying every problem found."""
    manifests: dict[str, Manifest] = {}
    problems: list[str] = []
    for name, path in select_manifests(names, models_dir).items():
        try:
            manifest = load_manifest(path)
            _check_files(manifest, path.parent)
            manifests[name] = manifest
        except (ManifestError, BuildError) as exc:
            problems.append(str(exc))
    if problems:
        raise ManifestError("\n".join(problems))
    return manifests


def _check_files(manifest: Manifest, model_dir: Path) -> None:
    """Checks that need the folder but no build: the source exists; assets and the tokenizer are consistent."""
    path = model_dir / "model.yaml"
    source = manifest.source.script or manifest.source.path
    if source is not None and not (model_dir / source).is_file():
        field = "source.script" if manifest.source.script else "source.path"
        raise BuildError(f"{path}: field `{field}`: no file {model_dir / source}; fix: add it or correct the path")
    shipped = [Path(asset).name for asset in manifest.source.assets]
    if len(set(shipped)) != len(shipped):
        raise BuildError(f"{path}: field `source.assets`: two assets share a file name in {shipped}; rename one")
    clashes = sorted(set(shipped) & RESERVED_FILES)
    if clashes:
        raise BuildError(f"{path}: field `source.assets`: {clashes} clash with files the build writes; rename them")
    if isinstance(manifest.processing, TextProcessing) and manifest.processing.tokenizer not in shipped:
        raise BuildError(
            f"{path}: field `processing.tokenizer`: `{manifest.processing.tokenizer}` is not among `source.assets` "
            f"{shipped}; fix: add it to `source.assets` so it ships with the model"
        )


def input_hash(manifest: Manifest, paths: BuildPaths) -> str:
    """Hash of everything the build reads: the source key, the model part of the manifest and the target.

    Deployment settings (memory, concurrency, instance type, ...) are left out: they do not change the artifact.
    """
    return (
        InputHasher()
        .value("source-key", source_key(manifest, paths.model_dir(manifest.name)))
        .value("model", manifest.model.model_dump(mode="json"))
        .value("target", manifest.deploy.target.value)
        .hexdigest()
    )


def _up_to_date(manifest: Manifest, paths: BuildPaths, digest: str) -> bool:
    """Current and intact for this manifest (the check push, synth and local up make) and built from the same
    source and asset contents (``input_hash``, which only the build can compute)."""
    try:
        artifact = current_artifact(manifest, paths.build_dir)
    except ArtifactNotCurrentError:
        return False
    return artifact.manifest.input_hash == digest


def build_models(
    names: Sequence[str] | None = None,
    *,
    models_dir: Path = Path(MODELS_DIR),
    build_dir: Path = Path(BUILD_DIR),
    sources_dir: Path | None = None,
    force: bool = False,
    raise_on_failure: bool = True,
    script_timeout_s: float = DEFAULT_SCRIPT_TIMEOUT_S,
) -> list[BuildResult]:
    """Build the named models (all when None) into ``build_dir/<name>/<version>/``.

    Every model is attempted; with ``raise_on_failure`` a ``BuildFailedError`` listing the failures (gate numbers
    included) follows, otherwise the failed ``BuildResult``s carry them.
    """
    paths = BuildPaths.under(models_dir, build_dir, sources_dir)
    results = [
        build_model(path, paths, force=force, script_timeout_s=script_timeout_s)
        for path in select_manifests(names, models_dir).values()
    ]
    failed = [result for result in results if not result.ok]
    if failed and raise_on_failure:
        detail = "\n".join(f"{result.name}: {result.error}" for result in failed)
        raise BuildFailedError(f"{len(failed)} of {len(results)} model(s) failed to build:\n{detail}", list(results))
    return results


def build_model(
    manifest_path: Path, paths: BuildPaths, *, force: bool = False, script_timeout_s: float = DEFAULT_SCRIPT_TIMEOUT_S
) -> BuildResult:
    """Build one model; failures come back as a ``failed`` result with the reason, never half-published."""
    name = manifest_path.parent.name
    start = time.perf_counter()
    try:
        manifest = load_manifest(manifest_path)
        _check_files(manifest, manifest_path.parent)
        final = paths.artifact_dir(manifest.name, manifest.version)
        digest = input_hash(manifest, paths)
        if not force and _up_to_date(manifest, paths, digest):
            progress.say(name, f"up to date ({final})")
            return BuildResult(name, "up-to-date", time.perf_counter() - start, manifest.version, final)
        report = _build(manifest, paths, final, digest, force=force, script_timeout_s=script_timeout_s)
    except (ManifestError, BuildError) as exc:
        progress.say(name, f"FAILED: {exc}")
        return BuildResult(name, "failed", time.perf_counter() - start, error=str(exc))
    except Exception as exc:  # one broken model must not stop the others; the traceback is printed
        progress.say(name, f"FAILED with an unexpected error:\n{traceback.format_exc()}")
        error = f"unexpected {type(exc).__name__}: {exc}"
        return BuildResult(name, "failed", time.perf_counter() - start, error=error)
    seconds = time.perf_counter() - start
    progress.say(name, f"built {final} in {seconds:.1f} s")
    return BuildResult(name, "built", seconds, manifest.version, final, report)


def _build(
    manifest: Manifest, paths: BuildPaths, final: Path, digest: str, *, force: bool, script_timeout_s: float
) -> BuildReport:
    from modelrail.builder.steps import Steps

    remove_leftovers(final)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    source = prepare_source(manifest, paths, force=force, timeout_s=script_timeout_s)
    timings["source"] = round(time.perf_counter() - started, 2)
    _check_batch_axes(manifest, source.fp32_model)
    staging = new_staging_dir(final)
    try:
        steps = Steps(manifest, source, staging, timings)
        report = steps.run()
        _package(manifest, source, staging, report, digest, graph=steps.graph)
        publish(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report


def _check_batch_axes(manifest: Manifest, fp32_model: Path) -> None:
    """Before any work: every tensor's batch axis is declared or clear from the graph (``modelrail.batch_axes``)."""
    from modelrail.batch_axes import BatchAxisError
    from modelrail.builder.graph import tensor_specs
    from modelrail.manifest import declared_batch_axes

    try:
        tensor_specs(fp32_model, declared_batch_axes(manifest.model))
    except BatchAxisError as exc:
        raise BuildError(f"{manifest.name}: {exc}") from None
    except Exception:  # an unreadable graph is reported, with its cause, by the step that loads it
        return


def _package(
    manifest: Manifest,
    source: ModelSource,
    staging: Path,
    report: BuildReport,
    digest: str,
    *,
    graph: GraphOptimization | None,
) -> None:
    """Copy assets, then write report.json and finally manifest.json (which hashes every other file)."""
    from modelrail.builder.graph import tensor_specs
    from modelrail.manifest import declared_batch_axes

    for asset in manifest.source.assets:
        shutil.copyfile(source.find(asset), staging / Path(asset).name)
    write_json(staging / REPORT_JSON, report.model_dump(mode="json"))
    inputs, outputs = tensor_specs(staging / MODEL_FILE, declared_batch_axes(manifest.model))
    built = BuiltManifest(
        name=manifest.name,
        version=manifest.version,
        task=manifest.task,
        target=manifest.deploy.target,
        precision=report.precision,
        model_file=MODEL_FILE,
        inputs=inputs,
        outputs=outputs,
        files=describe_files(staging),
        serving=ServingHints(max_batch_size=report.serving_max_batch_size),
        model=manifest.model,
        input_hash=digest,
        built_at=report.built_at,
        graph=graph,
    )
    write_json(staging / MANIFEST_JSON, built.model_dump(mode="json"))


def ensure_source(
    name: str,
    *,
    models_dir: Path = Path(MODELS_DIR),
    build_dir: Path = Path(BUILD_DIR),
    sources_dir: Path | None = None,
) -> ModelSource:
    """A model's source files (fp32 model, assets, datasets), running its script if the cached output is stale.

    Tests use it for data the build keeps, e.g. ``ensure_source("digits").find("heldout.npz")``.
    """
    paths = BuildPaths.under(models_dir, build_dir, sources_dir)
    return prepare_source(load_manifest(paths.manifest_path(name)), paths)
