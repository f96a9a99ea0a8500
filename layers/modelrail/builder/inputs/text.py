"""Text datasets: tokenized with the model's ``tokenizer.json``, truncated at ``processing.max_length``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from modelrail.builder.errors import DatasetError
from modelrail.builder.inputs import AdapterContext, Dataset, Feeds, label_indices
from modelrail.manifest import TextProcessing

TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def read_texts(path: Path) -> tuple[list[str], list[object] | None]:
    """Texts (and labels, where given) from ``.txt`` (one per line) or ``.jsonl``/``.json`` (strings or objects)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read it as UTF-8 text: {exc}") from None
    if path.suffix == ".txt":
        return [line for line in raw.splitlines() if line.strip()], None
    texts, labels = [], []
    for number, item in enumerate(_json_items(path, raw), start=1):
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, dict) and isinstance(item.get("text"), str):
            texts.append(item["text"])
            if "label" in item:
                labels.append(item["label"])
        else:
            raise DatasetError(f"{path}: item {number} is neither a string nor an object with a string `text`")
    if labels and len(labels) != len(texts):
        raise DatasetError(f"{path}: some items have a `label` and some do not")
    return texts, (labels or None)


def _json_items(path: Path, raw: str) -> list[Any]:
    if path.suffix not in {".jsonl", ".json"}:
        raise DatasetError(f"{path}: text datasets are .txt (one text per line), .jsonl or .json")
    try:
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in raw.splitlines() if line.strip()]
        items = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(items, list):
        raise DatasetError(f"{path}: expected a list of texts or {{'text': ..., 'label': ...}} objects")
    return items


class TextAdapter:
    """Tokenizes each text on its own, as the runtime does for one instance."""

    def load(self, path: Path, context: AdapterContext) -> Dataset:
        """Tokenize every text of ``path`` into ``input_ids``/``attention_mask``/``token_type_ids`` feeds."""
        from tokenizers import Tokenizer

        processing = context.manifest.processing
        assert isinstance(processing, TextProcessing)  # the manifest schema pairs text tasks with it
        names = {spec.name for spec in context.inputs}
        unknown = names - set(TEXT_INPUTS)
        if unknown:
            raise DatasetError(
                f"text models take inputs among {list(TEXT_INPUTS)}; this one also has {sorted(unknown)}"
            )
        tokenizer = Tokenizer.from_file(str(context.find_file(processing.tokenizer)))
        # The packaged tokenizer.json may carry its own truncation (MiniLM's says 128); the manifest decides.
        tokenizer.enable_truncation(processing.max_length)
        tokenizer.no_padding()
        texts, raw_labels = read_texts(path)
        samples: list[Feeds] = []
        for text in texts:
            encoding = tokenizer.encode(text)
            columns = {
                "input_ids": encoding.ids,
                "attention_mask": encoding.attention_mask,
                "token_type_ids": encoding.type_ids,
            }
            samples.append({spec.name: np.asarray([columns[spec.name]], dtype=spec.dtype) for spec in context.inputs})
        labels = None
        if raw_labels is not None:
            labels = label_indices(raw_labels, labels=context.manifest.labels, where=str(path))
        return Dataset(path=path, samples=samples, labels=labels)
