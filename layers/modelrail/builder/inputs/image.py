"""Image datasets: ``.npz`` of ``images`` (uint8, as callers send them) and optional ``labels``.

``images_to_tensor`` is the one implementation of the image processing convention on the build side: model
scripts train on it, calibration and the gate feed it, and the serving processor mirrors it (docs/build.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from modelrail.builder.errors import DatasetError
from modelrail.builder.inputs import AdapterContext, Dataset, label_indices, read_npz
from modelrail.manifest import ImageProcessing


def images_to_tensor(images: np.ndarray, processing: ImageProcessing) -> np.ndarray:
    """Turn a batch of decoded images into the model input tensor.

    ``images`` holds pixel values 0..255, shaped ``[n, height, width]`` (grayscale) or ``[n, height, width, 3]``
    (rgb), already at the model's size. Steps, in order: invert if ink is dark, multiply by ``scale``,
    subtract ``mean[c]`` and divide by ``std[c]``, then lay out as NCHW or NHWC. All arithmetic is float32.
    """
    channels = 1 if processing.color == "grayscale" else 3
    pixels = np.asarray(images, dtype=np.float32)
    if channels == 1 and pixels.ndim == 4 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    expected = (processing.height, processing.width) + ((3,) if channels == 3 else ())
    if pixels.shape[1:] != expected:
        raise DatasetError(
            f"images are shaped {list(pixels.shape[1:])}, the model takes {list(expected)} "
            f"({processing.color}, height x width); store them at the model's size"
        )
    if processing.ink == "dark":
        pixels = np.float32(255.0) - pixels
    pixels = pixels * np.float32(processing.scale)
    if channels == 1:
        pixels = pixels[..., np.newaxis]
    mean = _per_channel(processing.mean, channels, "mean")
    std = _per_channel(processing.std, channels, "std")
    pixels = (pixels - mean) / std
    tensor = pixels if processing.layout == "NHWC" else pixels.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(tensor, dtype=np.float32)


def _per_channel(values: list[float], channels: int, field: str) -> np.ndarray:
    if len(values) not in {1, channels}:
        raise DatasetError(f"processing.{field} has {len(values)} values for {channels} channel(s)")
    return np.asarray(values if len(values) == channels else values * channels, dtype=np.float32)


class ImageAdapter:
    """Applies the manifest's image processing to stored images."""

    def load(self, path: Path, context: AdapterContext) -> Dataset:
        """Read ``images`` (and ``labels``) from an ``.npz`` file into single-image feeds."""
        processing = context.manifest.processing
        assert isinstance(processing, ImageProcessing)  # the manifest schema pairs image tasks with it
        if len(context.inputs) != 1:
            raise DatasetError(f"image models take one input; this one has {[i.name for i in context.inputs]}")
        arrays = read_npz(path)
        if "images" not in arrays:
            raise DatasetError(f"{path}: no `images` array (uint8, [n, height, width] or [n, height, width, 3])")
        try:
            tensor = images_to_tensor(arrays["images"], processing)
        except DatasetError as exc:
            raise DatasetError(f"{path}: {exc}") from None
        name = context.inputs[0].name
        samples = [{name: tensor[index : index + 1]} for index in range(len(tensor))]
        labels = None
        if "labels" in arrays:
            labels = label_indices(arrays["labels"].tolist(), labels=context.manifest.labels, where=str(path))
        return Dataset(path=path, samples=samples, labels=labels)
