"""digits (Lambda, static int8) over real loopback HTTP: held-out accuracy through v1 predict with PNG images, and
through v2 infer with tritonclient, JSON and binary."""

from __future__ import annotations

import base64
from io import BytesIO

import numpy as np
import pytest
import tritonclient.http as triton
from PIL import Image

from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

BATCH = 40
MIN_ACCURACY = 0.97


@pytest.fixture(scope="module")
def heldout() -> tuple[np.ndarray, np.ndarray]:
    """The held-out split the build keeps (uint8 [n, 8, 8] images as callers send them: dark ink; labels)."""
    from modelrail.builder import ensure_source

    data = np.load(ensure_source("digits").find("heldout.npz"))
    return data["images"], data["labels"]


def png_base64(image: np.ndarray) -> str:
    buffer = BytesIO()
    Image.fromarray(image, mode="L").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def test_heldout_accuracy_through_v1_predict(local_stack: LocalStack, heldout: tuple[np.ndarray, np.ndarray]) -> None:
    images, labels = heldout
    predicted: list[int] = []
    with local_stack.client() as client:
        for start in range(0, len(images), BATCH):
            batch = [png_base64(image) for image in images[start : start + BATCH]]
            response = client.post("/v1/models/digits/predict", json={"instances": batch})
            assert response.status_code == 200, response.text
            predicted += [int(p["label"]) for p in response.json()["predictions"]]
    accuracy = float(np.mean(np.asarray(predicted) == labels))
    print(f"e2e digits: held-out accuracy through v1 predict {accuracy:.4f} on {len(labels)} images")
    assert len(predicted) == len(labels) >= 300
    assert accuracy >= MIN_ACCURACY, accuracy


def model_tensor(images: np.ndarray) -> np.ndarray:
    """What the processor does to a caller's image (manifest: dark ink inverted, x/255, mean 0.5, std 0.5)."""
    light_ink = (255 - images.astype(np.float32)) / 255.0
    return ((light_ink - 0.5) / 0.5).reshape(len(images), 1, 8, 8).astype(np.float32)


def infer_logits(local_stack: LocalStack, tensor: np.ndarray, *, binary: bool) -> np.ndarray:
    client = triton.InferenceServerClient(local_stack.host_port, network_timeout=60)
    try:
        request = triton.InferInput("image", list(tensor.shape), "FP32")
        request.set_data_from_numpy(tensor, binary_data=binary)
        headers = {"x-api-key": local_stack.api_key}  # the API key only: no Content-Type, no Accept
        result = client.infer(
            "digits", [request], outputs=[triton.InferRequestedOutput("logits", binary_data=binary)], headers=headers
        )
    finally:
        client.close()
    logits = result.as_numpy("logits")
    assert logits is not None
    return logits


def test_heldout_accuracy_through_v2_infer_binary_and_json_agree(
    local_stack: LocalStack, heldout: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = heldout
    tensor = model_tensor(images)
    binary = infer_logits(local_stack, tensor, binary=True)
    assert binary.shape == (len(images), 10)
    accuracy = float(np.mean(binary.argmax(axis=1) == labels))
    assert accuracy >= MIN_ACCURACY, accuracy
    json_logits = infer_logits(local_stack, tensor[:BATCH], binary=False)
    assert np.allclose(json_logits, binary[:BATCH], atol=1e-5)


def test_metadata_says_what_images_to_send(local_stack: LocalStack) -> None:
    with local_stack.client() as client:
        metadata = client.get("/v2/models/digits").json()
    assert metadata["inputs"] == [
        {"name": "image", "datatype": "FP32", "shape": [-1, 1, 8, 8], "parameters": {"batch_axis": 0}}
    ]
    assert "ink" in str(metadata["parameters"])
