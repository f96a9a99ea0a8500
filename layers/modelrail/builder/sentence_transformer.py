"""Export a sentence-transformers model (Transformer + mean Pooling + Normalize) as one ONNX graph.

The exported graph takes ``input_ids``, ``attention_mask`` and ``token_type_ids`` (INT64, ``[batch, tokens]``)
and returns ``sentence_embedding`` (FP32, ``[batch, dim]``): mean pooling over real tokens and L2
normalisation happen inside the graph, so the runtime only tokenizes. Needs torch and transformers.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelrail.builder.errors import SourceError

if TYPE_CHECKING:
    import torch

INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "sentence_embedding"
CHECK_TEXTS = (
    "OK",
    "A short sentence about trains.",
    "Ein Satz auf Deutsch, mit Umlauten: Größe, Übung.",
    "def f(x):\n    return x * 2",
    " ".join(["A paragraph long enough to pass the truncation limit of the model."] * 40),
)
"""Texts the export checks against sentence-transformers itself: short, non-English, code, and over-long."""
CHECK_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ExportedModel:
    """What the export wrote and the settings the runtime must copy."""

    model: Path
    tokenizer: Path
    max_seq_length: int
    dimension: int
    max_abs_diff: float


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SourceError(f"{path}: cannot read it: {exc}") from None


def _check_layout(model_dir: Path) -> int:
    """Refuse anything but Transformer -> mean Pooling -> Normalize; return ``max_seq_length``."""
    modules = [module.get("type", "").rsplit(".", 1)[-1] for module in _read_json(model_dir / "modules.json")]
    if modules != ["Transformer", "Pooling", "Normalize"]:
        raise SourceError(f"{model_dir}: expected Transformer, Pooling, Normalize modules; found {modules}")
    pooling_files = sorted(model_dir.glob("*Pooling/config.json"))
    if pooling_files:
        pooling = _read_json(pooling_files[0])
        modes = sorted(key for key, value in pooling.items() if key.startswith("pooling_mode") and value is True)
        if modes != ["pooling_mode_mean_tokens"]:
            raise SourceError(f"{pooling_files[0]}: only mean pooling is supported; this model uses {modes}")
    return int(_read_json(model_dir / "sentence_bert_config.json")["max_seq_length"])


def _pooled_module(model_dir: Path) -> torch.nn.Module:
    import torch
    from transformers import AutoModel

    # Eager attention traces to plain MatMul/Softmax that ORT's symbolic shape inference understands.
    # A local directory, never the hub: local_files_only makes transformers refuse any download.
    encoder = AutoModel.from_pretrained(  # nosec B615 # no download, so no revision to pin
        str(model_dir), attn_implementation="eager", local_files_only=True
    )

    class MeanPooledNormalized(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(
            self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
        ) -> torch.Tensor:
            # Explicit position ids trace to a Range over the sequence length instead of a slice of a
            # 512-long buffer, whose Min(512, tokens) shape defeats symbolic shape inference.
            positions = torch.arange(input_ids.shape[1], device=input_ids.device).unsqueeze(0)
            hidden = self.encoder(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                position_ids=positions,
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            summed = (hidden * mask).sum(dim=1)
            pooled = summed / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    return MeanPooledNormalized().eval()


def export_sentence_transformer(
    model_dir: Path, output_dir: Path, *, expected_max_length: int | None = None
) -> ExportedModel:
    """Write ``model.onnx`` and ``tokenizer.json`` into ``output_dir`` and check them against sentence-transformers.

    ``expected_max_length`` is the manifest's ``processing.max_length``; a mismatch with the model's own
    ``max_seq_length`` is an error, because the served embeddings would then differ on long texts.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from modelrail.builder.torch_export import export_onnx

    max_seq_length = _check_layout(model_dir)
    if expected_max_length is not None and expected_max_length != max_seq_length:
        raise SourceError(
            f"processing.max_length is {expected_max_length} but the model's max_seq_length is {max_seq_length} "
            f"({model_dir / 'sentence_bert_config.json'}); set `max_length: {max_seq_length}`"
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = output_dir / "tokenizer.json"
    shutil.copyfile(model_dir / "tokenizer.json", tokenizer)
    example = torch.ones((2, 8), dtype=torch.int64)
    model_path = export_onnx(
        _pooled_module(model_dir),
        (example, torch.ones_like(example), torch.zeros_like(example)),
        output_dir / "model.onnx",
        input_names=INPUT_NAMES,
        output_names=[OUTPUT_NAME],
        dynamic_axes={**{name: {0: "batch", 1: "tokens"} for name in INPUT_NAMES}, OUTPUT_NAME: {0: "batch"}},
    )
    difference, dimension = compare_with_sentence_transformers(model_dir, model_path, tokenizer, max_seq_length)
    if difference > CHECK_TOLERANCE:
        raise SourceError(
            f"the exported graph differs from sentence-transformers by {difference:.2e} (> {CHECK_TOLERANCE})"
        )
    return ExportedModel(model_path, tokenizer, max_seq_length, dimension, difference)


def compare_with_sentence_transformers(
    model_dir: Path, model_path: Path, tokenizer_path: Path, max_length: int, texts: tuple[str, ...] = CHECK_TEXTS
) -> tuple[float, int]:
    """Largest absolute difference between the ONNX graph (tokenized as the runtime does) and ``encode``."""
    import numpy as np
    import onnxruntime as ort
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

    expected = SentenceTransformer(str(model_dir), device="cpu").encode(list(texts), convert_to_numpy=True)
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding()
    encodings = tokenizer.encode_batch(list(texts))
    feeds = {
        "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
    }
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    actual = session.run(None, feeds)[0]
    return float(np.max(np.abs(actual - expected))), int(actual.shape[1])
