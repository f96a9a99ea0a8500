"""``image-classification``: decode, colour, resize, ink polarity, normalise, layout; bad images are 4xx."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from modelrail.errors import InvalidInputError, UnprocessableInputError
from tests.support.serving_artifacts import image_artifact, load_model


def encode(image: Image.Image, fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return base64.b64encode(buffer.getvalue()).decode()


def stroke() -> Image.Image:
    """White paper with a black square in the top-left quarter (dark ink)."""
    image = Image.new("L", (16, 16), 255)
    image.paste(0, (0, 0, 8, 8))
    return image


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return load_model(image_artifact(tmp_path_factory.mktemp("img")))


def test_pixels_follow_the_manifest_steps(model: Any) -> None:
    tensor = model.processor._tensor(0, encode(stroke()))
    assert tensor.shape == (1, 8, 8)  # NCHW without the batch dimension
    # ink (black, 0) -> 255 - 0 = 255 -> *1/255 = 1 -> (1 - 0.5) / 0.5 = 1; paper -> -1
    np.testing.assert_allclose(tensor[0, :3, :3], 1.0, atol=1e-6)  # bilinear blends only the edge row
    np.testing.assert_allclose(tensor[0, 5:, 5:], -1.0, atol=1e-6)


def test_prediction_uses_the_labels(model: Any) -> None:
    # logits are (sum, -sum, 0) of the pixels: mostly paper (-1) -> "light" wins
    [answer] = model.processor.predict([encode(stroke())])
    assert answer["label"] == "light"
    assert list(answer["scores"]) == ["dark", "light", "none"]


def test_rgb_jpeg_and_data_urls_are_accepted(model: Any) -> None:
    jpeg = encode(stroke().convert("RGB"), "JPEG")
    answers = model.processor.predict([jpeg, f"data:image/jpeg;base64,{jpeg}", {"b64": jpeg}])
    assert answers[0] == answers[1] == answers[2]


def test_a_transparent_background_counts_as_paper(model: Any) -> None:
    drawing = Image.new("RGBA", (16, 16), (0, 0, 0, 0))  # transparent, as canvas exports are
    drawing.paste((0, 0, 0, 255), (0, 0, 8, 8))
    np.testing.assert_allclose(
        model.processor._tensor(0, encode(drawing)), model.processor._tensor(0, encode(stroke()))
    )


def test_metadata_describes_what_callers_must_send(model: Any) -> None:
    described = model.processor.describe()
    assert (described["width"], described["height"], described["color"], described["ink"]) == (
        8,
        8,
        "grayscale",
        "dark",
    )
    assert described["layout"] == "NCHW"


@pytest.mark.parametrize(
    ("instance", "error", "message"),
    [
        (12, InvalidInputError, "instance 1: expected a base64-encoded PNG or JPEG string, got int"),
        ("%%%not base64%%%", UnprocessableInputError, "instance 1: not valid base64"),
        (base64.b64encode(b"plain text, not an image").decode(), UnprocessableInputError, "instance 1: not a readable"),
        ("GIF", UnprocessableInputError, "instance 1: not a readable PNG or JPEG image"),
    ],
)
def test_bad_images_name_the_instance(model: Any, instance: Any, error: type[Exception], message: str) -> None:
    if instance == "GIF":
        instance = encode(stroke(), "GIF")
    with pytest.raises(error, match=message):
        model.processor.predict([encode(stroke()), instance])


def test_a_truncated_png_is_a_422_not_a_crash(model: Any) -> None:
    data = base64.b64decode(encode(Image.new("L", (64, 64), 128)))
    with pytest.raises(UnprocessableInputError, match="instance 0: not a readable PNG or JPEG image"):
        model.processor.predict([base64.b64encode(data[: len(data) // 2]).decode()])


def test_huge_dimensions_are_refused_before_decoding(model: Any, tmp_path: Path) -> None:
    del tmp_path
    huge = encode(Image.new("1", (5000, 5000)))
    with pytest.raises(UnprocessableInputError, match="5000x5000 pixels is over the limit"):
        model.processor.predict([huge])


def test_answers_do_not_depend_on_batch_mates(model: Any) -> None:
    images = [encode(stroke()), encode(Image.new("L", (8, 8), 0)), encode(Image.new("L", (30, 10), 200))]
    together = model.processor.predict(images)
    for image, answer in zip(images, together, strict=True):
        alone = model.processor.predict([image])[0]
        np.testing.assert_allclose(list(answer["scores"].values()), list(alone["scores"].values()), atol=1e-5)
