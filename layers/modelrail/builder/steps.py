"""The measured part of one build: quantize, gate against fp32, time both; everything lands in a ``BuildReport``."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelrail.builder import latency, progress
from modelrail.builder.errors import BuildError, GateFailedError
from modelrail.builder.fusion import Fused, fuse_bert
from modelrail.builder.gate import GateOutcome, run_gate
from modelrail.builder.hashing import tool_versions
from modelrail.builder.inputs import AdapterContext, Dataset, Feeds, load_dataset
from modelrail.builder.inputs.synthetic import SYNTHESIZED, batchable, synthesize
from modelrail.builder.offline import pre_optimize
from modelrail.builder.quantize import QuantizeOutcome, quantize
from modelrail.builder.report import (
    BuildReport,
    GateNotRequired,
    GateReport,
    LatencyReport,
    SizeReport,
    targets_for,
)
from modelrail.builder.sessions import MEASURE_THREADS, graph_inputs, open_session, providers_for
from modelrail.builder.sources import ModelSource
from modelrail.constants import MODEL_DATA_FILE, MODEL_FILE
from modelrail.manifest import Bound, Gate, GraphOptimization, Manifest, QuantizationMode, Target

DEFAULT_MAX_BATCH_SIZE = 32
"""Batch limit for an ungated fp32 model (its answers do not depend on batch-mates)."""
UNCHANGED = (
    "weights served unchanged (quantization: none): the served model is the fp32 one, so there is nothing to gate"
)
FP16_DEFAULT_THRESHOLDS = {"cosine_mean": Bound(min=0.999), "cosine_min": Bound(min=0.99)}
"""fp16 vs fp32 on synthesized inputs when the manifest has no `gate:`: outputs must point the same way."""
SYNTHESIZED_BATCH_SIZES = [1, 2, 4, 8]
"""Batch sizes an fp16 model without a `gate:` is compared at (the most instances synthesized)."""
FUSED_FILE = "fused.onnx"
INT8_MODES = (QuantizationMode.DYNAMIC, QuantizationMode.STATIC)


def fusion_applies(manifest: Manifest) -> bool:
    """Transformer fusions are tried for gated int8 CPU models only.

    The gate must judge them (an ungated fp32 model is served as exported), and fp16 fused kernels are GPU ones
    (the CPU provider has no fp16 Attention, and a GPU model is gated wherever the build runs).
    """
    return (
        manifest.quantization.mode in INT8_MODES and manifest.gate is not None and manifest.deploy.target is Target.CPU
    )


class Steps:
    """One model's quantize -> gate -> latency run, writing the served model into ``staging``."""

    def __init__(self, manifest: Manifest, source: ModelSource, staging: Path, timings: dict[str, float]) -> None:
        self.manifest = manifest
        self.source = source
        self.staging = staging
        self.timings = timings
        self.name = manifest.name
        self._datasets: dict[str, Dataset] = {}
        self._synthesized: Dataset | None = None
        self._max_batch_size = max_batch_size(manifest)
        self.graph: GraphOptimization | None = None
        """What ``model.onnx`` holds ahead of time, for ``manifest.json`` (set once the served model is written)."""

    def _dataset(self, name: str, context: AdapterContext) -> Dataset:
        if name not in self._datasets:
            self._datasets[name] = load_dataset(self.source.find(name), context)
        return self._datasets[name]

    @contextmanager
    def _timed(self, key: str, what: str) -> Iterator[None]:
        start = time.perf_counter()
        with progress.step(self.name, what):
            yield
        self.timings[key] = round(time.perf_counter() - start, 2)

    def run(self) -> BuildReport:
        """Produce ``staging/model.onnx`` and the report, or raise ``GateFailedError`` with the numbers."""
        manifest = self.manifest
        served_path = self.staging / MODEL_FILE
        fp32_session = open_session(self.source.fp32_model)
        context = AdapterContext(manifest=manifest, inputs=graph_inputs(fp32_session), find_file=self.source.find)
        providers = providers_for(manifest.deploy.target)
        with tempfile.TemporaryDirectory(prefix="modelrail-build-") as scratch:
            fused = self._fuse(Path(scratch)) if fusion_applies(manifest) else None
            try:
                outcome, served_session, gate_report = self._produce(context, fp32_session, providers, scratch, fused)
            except Exception as exc:  # the gate, the quantizer or ORT refusing the fused graph
                if fused is None:
                    raise
                # Fusing first is meant to help the gate, never to stand in its way: quantize the graph as exported.
                note = f"{fused.describe()}: not used, the build failed with them ({str(exc).splitlines()[0]})"
                progress.say(self.name, f"{note}; quantizing the graph as exported")
                outcome, served_session, gate_report = self._produce(context, fp32_session, providers, scratch, None)
                outcome.notes.append(note)
        timing = self._latency(context, fp32_session, served_session)
        served_bytes = sum(
            path.stat().st_size for path in (served_path, self.staging / MODEL_DATA_FILE) if path.exists()
        )
        sizes = SizeReport(
            fp32_bytes=self.source.fp32_model.stat().st_size,
            served_bytes=served_bytes,
            ratio=round(served_bytes / self.source.fp32_model.stat().st_size, 4),
        )
        report = BuildReport(
            name=manifest.name,
            version=manifest.version,
            precision=outcome.precision,
            preprocess=outcome.preprocess,
            sizes=sizes,
            latency=timing,
            gate=gate_report,
            targets=targets_for(outcome.precision, size_ratio=sizes.ratio, latency_ratio=timing.ratio),
            serving_max_batch_size=self._max_batch_size,
            timings_s=dict(self.timings),
            tools=tool_versions(),
            notes=outcome.notes,
            built_at=now_iso(),
            graph=self.graph,
        )
        self._summarise(report)
        return report

    def _fuse(self, scratch: Path) -> Fused | None:
        """The fp32 graph with transformer fusions (``scratch/fused.onnx``), if it is BERT-like."""
        with self._timed("fuse", "transformer fusions (bert)"):
            try:
                fused = fuse_bert(self.source.fp32_model, scratch / FUSED_FILE)
            except BuildError as exc:
                progress.say(self.name, f"transformer fusions not applied: {exc}")
                return None
        progress.say(self.name, fused.describe() if fused else "not a BERT-like graph: no transformer fusions")
        return fused

    def _produce(
        self, context: AdapterContext, fp32_session: Any, providers: list[str], scratch: str, fused: Fused | None
    ) -> tuple[QuantizeOutcome, Any, GateReport | GateNotRequired]:
        """Quantize (the fused graph, if any), pre-optimize into ``staging/model.onnx``, and gate those bytes."""
        manifest = self.manifest
        source = Path(scratch) / FUSED_FILE if fused else self.source.fp32_model
        quantized = Path(scratch) / "quantized.onnx"
        mode = manifest.quantization.mode.value
        with self._timed("quantize", f"quantize ({mode}{', fused graph' if fused else ''})"):
            outcome = quantize(
                source,
                quantized,
                manifest.quantization,
                scratch=Path(scratch),
                calibration=lambda: self._calibration_feeds(context),
            )
        with self._timed("optimize", "save the graph as ONNX Runtime optimizes it"):
            self.graph = pre_optimize(
                quantized, self.staging / MODEL_FILE, manifest.deploy.target, fusions=fused.fusions if fused else {}
            )
        if fused is not None:
            outcome.notes.append(fused.describe())
        served_session = open_session(self.staging / MODEL_FILE, providers=providers, graph=self.graph)
        return outcome, served_session, self._gate(context, fp32_session, served_session, providers[0])

    def _calibration_feeds(self, context: AdapterContext) -> Sequence[Feeds]:
        calibration = self.manifest.quantization.calibration
        assert calibration is not None  # only static mode asks, and the schema requires the block there
        dataset = self._dataset(calibration.dataset, context)
        progress.say(self.name, f"calibrating on {min(len(dataset), calibration.max_samples)} instance(s)")
        return dataset.samples[: calibration.max_samples]

    def _synthesized_dataset(self, fp32_session: Any) -> Dataset:
        if self._synthesized is None:
            self._synthesized = synthesize(fp32_session)
        return self._synthesized

    def _gate(
        self, context: AdapterContext, fp32_session: Any, served_session: Any, provider: str
    ) -> GateReport | GateNotRequired:
        gate = self.manifest.gate
        warning = None
        if gate is not None:
            dataset = self._dataset(gate.dataset, context)
        elif self.manifest.quantization.mode is QuantizationMode.NONE:
            return GateNotRequired(reason=UNCHANGED)
        else:  # fp16 without a gate (the manifest refuses int8 without one): compare on synthesized inputs
            dataset = self._synthesized_dataset(fp32_session)
            batch_sizes = SYNTHESIZED_BATCH_SIZES if batchable(fp32_session) else [1]
            gate = Gate(dataset=SYNTHESIZED, batch_sizes=batch_sizes, thresholds=FP16_DEFAULT_THRESHOLDS)
            self._max_batch_size = max(batch_sizes)
            warning = (
                "no `gate:`: fp16 was compared with fp32 on inputs synthesized from the graph's signature, not on "
                "real data; add a `gate:` with a dataset to check the answers that matter"
            )
            progress.say(self.name, f"WARNING: {warning}")
        sizes = ", ".join(str(size) for size in sorted(set(gate.batch_sizes)))
        with self._timed("gate", f"gate on {len(dataset)} instance(s) at batch size(s) {sizes}"):
            outcome = run_gate(gate, dataset, reference_session=fp32_session, served_session=served_session)
        report = GateReport(
            dataset=gate.dataset,
            instances=len(dataset),
            provider=provider,
            thresholds=gate.thresholds,
            results={str(size): _rounded(values) for size, values in outcome.results.items()},
            reference=_rounded(outcome.reference),
            failures=outcome.failures,
            passed=outcome.passed,
            warning=warning,
        )
        if not outcome.passed:
            raise GateFailedError(_gate_failure_message(self.manifest, outcome))
        return report

    def _latency(self, context: AdapterContext, fp32_session: Any, served_session: Any) -> LatencyReport:
        dataset = self._latency_dataset(context, fp32_session)
        feeds = latency.typical_instance(dataset)
        # Always timed on CPU with one thread: the latency targets are about Lambda-sized CPU functions.
        cpu_served = served_session if served_session.get_providers()[0] == "CPUExecutionProvider" else None
        with self._timed("latency", "time fp32 and served model at batch 1"):
            served = cpu_served or open_session(self.staging / MODEL_FILE, graph=self.graph)
            measured = latency.measure(fp32_session, served, feeds)
        return LatencyReport(
            threads=MEASURE_THREADS,
            provider="CPUExecutionProvider",
            runs=measured.runs,
            input_shapes=measured.input_shapes,
            fp32_p50_ms=round(measured.fp32_p50_ms, 4),
            served_p50_ms=round(measured.served_p50_ms, 4),
            ratio=round(measured.ratio, 4),
        )

    def _latency_dataset(self, context: AdapterContext, fp32_session: Any) -> Dataset:
        manifest = self.manifest
        if manifest.gate is not None:
            return self._dataset(manifest.gate.dataset, context)
        if manifest.quantization.calibration is not None:
            return self._dataset(manifest.quantization.calibration.dataset, context)
        return self._synthesized_dataset(fp32_session)

    def _summarise(self, report: BuildReport) -> None:
        say = progress.say
        say(self.name, f"size {report.sizes.served_bytes / 1e6:.2f} MB = {report.sizes.ratio:.3f} x fp32")
        say(
            self.name,
            f"p50 at batch 1: fp32 {report.latency.fp32_p50_ms:.3f} ms, served {report.latency.served_p50_ms:.3f} ms "
            f"= {report.latency.ratio:.3f} x fp32 ({report.latency.runs} runs each)",
        )
        if isinstance(report.gate, GateNotRequired):
            say(self.name, f"gate not required: {report.gate.reason}")
        else:
            for size, values in report.gate.results.items():
                numbers = ", ".join(f"{metric} {value:.4f}" for metric, value in values.items())
                say(self.name, f"gate passed at batch {size}: {numbers}")
        for target in report.targets:
            verdict = "met" if target.met else "not met (recorded, not enforced)"
            say(self.name, f"target {target.metric} <= {target.max}: {target.actual:.3f} {verdict}")


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 6) for key, value in values.items()}


def _gate_failure_message(manifest: Manifest, outcome: GateOutcome) -> str:
    lines = [f"gate FAILED for {manifest.quantization.mode.value} quantization; nothing was published:"]
    lines += [f"  {failure}" for failure in outcome.failures]
    for size, values in outcome.results.items():
        lines.append(f"  measured at batch {size}: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()))
    if outcome.reference:
        lines.append("  fp32 reference: " + ", ".join(f"{k} {v:.4f}" for k, v in outcome.reference.items()))
    if manifest.quantization.mode is QuantizationMode.DYNAMIC and not manifest.quantization.per_channel:
        lines.append("  hint: per-tensor weight scales lose accuracy; try `per_channel: true`")
    return "\n".join(lines)


def max_batch_size(manifest: Manifest) -> int:
    """The largest batch the runtime may run: 1 for dynamic int8, else the largest batch size the gate measured."""
    if manifest.quantization.mode is QuantizationMode.DYNAMIC:
        return 1
    if manifest.gate is None:
        return DEFAULT_MAX_BATCH_SIZE
    return max(manifest.gate.batch_sizes)


def now_iso() -> str:
    """The current UTC time, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()
