"""The build's image processing: the convention the serving processor mirrors and digits trains on."""

from __future__ import annotations

import numpy as np
import pytest

from modelrail.builder.errors import DatasetError
from modelrail.builder.inputs.image import images_to_tensor
from modelrail.manifest import ImageProcessing


def test_dark_ink_is_inverted_scaled_and_normalised() -> None:
    processing = ImageProcessing(width=2, height=1, color="grayscale", ink="dark", scale=1 / 255, mean=[0.5], std=[0.5])
    images = np.array([[[0, 255]]], dtype=np.uint8)  # black ink pixel, white paper pixel
    tensor = images_to_tensor(images, processing)
    assert tensor.shape == (1, 1, 1, 2)
    assert tensor.dtype == np.float32
    # ink (0) -> 255 -> 1.0 -> +1 ; paper (255) -> 0 -> 0.0 -> -1
    np.testing.assert_array_equal(tensor[0, 0, 0], [1.0, -1.0])


def test_light_ink_is_not_inverted() -> None:
    processing = ImageProcessing(width=1, height=1, color="grayscale", ink="light", scale=1 / 255)
    assert images_to_tensor(np.array([[[255]]], dtype=np.uint8), processing)[0, 0, 0, 0] == pytest.approx(1.0)


def test_rgb_uses_per_channel_mean_std_and_layout() -> None:
    processing = ImageProcessing(
        width=1, height=1, color="rgb", scale=1.0, mean=[10.0, 20.0, 30.0], std=[1.0, 2.0, 5.0], layout="NHWC"
    )
    tensor = images_to_tensor(np.array([[[[20, 40, 80]]]], dtype=np.uint8), processing)
    assert tensor.shape == (1, 1, 1, 3)
    np.testing.assert_allclose(tensor[0, 0, 0], [10.0, 10.0, 10.0])
    nchw = images_to_tensor(
        np.array([[[[20, 40, 80]]]], dtype=np.uint8), processing.model_copy(update={"layout": "NCHW"})
    )
    assert nchw.shape == (1, 3, 1, 1)


def test_wrong_image_size_names_expected_size() -> None:
    processing = ImageProcessing(width=8, height=8, color="grayscale")
    with pytest.raises(DatasetError, match=r"shaped \[28, 28\], the model takes \[8, 8\]"):
        images_to_tensor(np.zeros((1, 28, 28), dtype=np.uint8), processing)
