"""Request bodies for timing a built model: instances made from what its artifact says it takes."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

SENTENCE = "The quick brown fox jumps over the lazy dog while the band plays on in the park."
"""A typical short text (17 words, about 20 word-pieces): what an embedding or classification call carries."""


def _zeros(shape: list[int]) -> Any:
    if not shape:
        return 0
    return [_zeros(shape[1:]) for _ in range(max(1, shape[0]))]


def _image(width: int, height: int, color: str) -> str:
    from PIL import Image

    image = Image.new("L" if color == "grayscale" else "RGB", (width, height), color=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def one_instance(manifest: dict[str, Any]) -> Any:
    """One instance of the task API's ``instances`` for the artifact whose ``manifest.json`` this is."""
    task = manifest["task"]
    model = manifest.get("model") or manifest.get("manifest") or {}
    processing = model.get("processing") or {}
    if task in {"text-embedding", "text-classification"}:
        return SENTENCE
    if task == "image-classification":
        return _image(int(processing["width"]), int(processing["height"]), processing.get("color", "rgb"))
    if task == "tabular":
        return [0.0] * len(processing["features"])
    # tensor: every input without its batch dimension, dynamic dimensions at 1
    return {spec["name"]: _zeros([1 if d < 0 else d for d in spec["shape"][1:]]) for spec in manifest["inputs"]}


def instances_by_batch(artifact_dir: Path, batch_sizes: list[int]) -> dict[str, list[Any]]:
    """Batch size -> that many instances."""
    manifest = json.loads((artifact_dir / "manifest.json").read_text(encoding="utf-8"))
    instance = one_instance(manifest)
    return {str(size): [instance] * size for size in batch_sizes}
