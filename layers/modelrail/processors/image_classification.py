"""``image-classification``: base64 PNG/JPEG in, a label and per-label scores out.

Pre-processing follows the manifest: decode -> grayscale/rgb -> resize to width x height -> pixels p in
0..255 -> ``255 - p`` if the callers' ink is dark -> ``p * scale`` -> ``(p - mean[c]) / std[c]`` -> NCHW/NHWC.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from modelrail.datatypes import NUMPY_BY_DATATYPE
from modelrail.errors import InvalidInputError, ModelUnavailableError, UnprocessableInputError
from modelrail.manifest import ImageProcessing, Task
from modelrail.processors.base import chunks, single_input
from modelrail.processors.classify import predictions
from modelrail.session import ModelSession
from modelrail.store import Artifact

MAX_PIXELS = 4096 * 4096
"""Refuse larger images before decoding them (a small PNG can expand to gigabytes)."""
FORMATS = ("PNG", "JPEG")


class ImageClassificationProcessor:
    """Decodes and normalises each image exactly as the manifest describes, then classifies."""

    def __init__(self, artifact: Artifact, session: ModelSession) -> None:
        processing = artifact.manifest.model.processing
        if not isinstance(processing, ImageProcessing):
            raise ModelUnavailableError("an image-classification model needs image processing settings")
        self.processing = processing
        self.session = session
        self.input = single_input(session, Task.IMAGE_CLASSIFICATION)
        self.dtype = NUMPY_BY_DATATYPE[session.input_spec(self.input).datatype]
        self.output = session.outputs[0].name
        self.labels = artifact.manifest.model.labels
        channels = 1 if processing.color == "grayscale" else 3
        for field in ("mean", "std"):
            if len(getattr(processing, field)) not in (1, channels):
                raise ModelUnavailableError(f"processing.{field} needs 1 or {channels} values for {processing.color}")
        self._mean = np.asarray(processing.mean, dtype=np.float32)
        self._std = np.asarray(processing.std, dtype=np.float32)

    def predict(self, instances: Sequence[Any]) -> list[Any]:
        """``{"label", "score", "scores"}`` per image."""
        pixels = [self._tensor(index, instance) for index, instance in enumerate(instances)]
        answers: list[Any] = []
        for chunk in chunks(pixels, self.session.max_batch_size):
            batch = np.stack(list(chunk)).astype(self.dtype, copy=False)
            logits = self.session.run({self.input: batch}, [self.output])[self.output]
            answers.extend(predictions(logits, self.labels))
        return answers

    def describe(self) -> dict[str, Any]:
        """The expected image: size, colour, polarity of ink, normalisation, layout."""
        return {
            "instances": "base64-encoded PNG or JPEG images (a data: URL prefix is accepted)",
            **self.processing.model_dump(mode="json"),
            "resize": "bilinear, to exactly width x height",
            "labels": self.labels,
        }

    def _tensor(self, index: int, instance: Any) -> np.ndarray:
        image = _decode(index, instance)
        processing = self.processing
        image = _flatten_alpha(image, background=0 if processing.ink == "light" else 255)
        mode, size = ("L" if processing.color == "grayscale" else "RGB"), (processing.width, processing.height)
        if image.mode != mode:  # Pillow would copy an image already in the mode, or already at the size
            image = image.convert(mode)
        if image.size != size:
            image = image.resize(size, resample=_bilinear())
        pixels = np.asarray(image, dtype=np.float32)
        if pixels.ndim == 2:
            pixels = pixels[..., None]
        if processing.ink == "dark":
            pixels = 255.0 - pixels  # the model was trained on light ink over a dark background
        pixels = (pixels * processing.scale - self._mean) / self._std
        return pixels.transpose(2, 0, 1) if processing.layout == "NCHW" else pixels


def _bilinear() -> Any:
    from PIL import Image

    return Image.Resampling.BILINEAR


def _decode(index: int, instance: Any) -> Any:
    from PIL import Image, UnidentifiedImageError

    if isinstance(instance, dict) and set(instance) == {"b64"}:
        instance = instance["b64"]
    if not isinstance(instance, str):
        raise InvalidInputError(
            f"instance {index}: expected a base64-encoded PNG or JPEG string, got {type(instance).__name__}"
        )
    text = instance.split(",", 1)[1] if instance.startswith("data:") and "," in instance else instance
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UnprocessableInputError(f"instance {index}: not valid base64") from None
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise UnprocessableInputError(
                f"instance {index}: {width}x{height} pixels is over the limit of {MAX_PIXELS} pixels"
            )
        image.load()
    except UnprocessableInputError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise UnprocessableInputError(f"instance {index}: not a readable PNG or JPEG image") from None
    return image


def _flatten_alpha(image: Any, *, background: int) -> Any:
    from PIL import Image

    # A drawing exported with a transparent background would otherwise turn black when the alpha is dropped.
    if image.mode in {"RGBA", "LA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (background, background, background, 255))
        return Image.alpha_composite(canvas, rgba)
    return image
