"""A real tritonclient.http client against the app on loopback: JSON and binary tensors both ways."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from modelrail.app import create_app
from modelrail.settings import Settings
from tests.support.serving_servers import built_artifact, serve


@pytest.fixture(scope="module")
def client() -> Iterator[triton.InferenceServerClient]:
    app = create_app(Settings(model_dir=built_artifact("digits"), model_name="digits"), preload=False)
    with serve(app) as url:
        connection = triton.InferenceServerClient(
            url.removeprefix("http://"), connection_timeout=30, network_timeout=60
        )
        yield connection
        connection.close()


def images(count: int) -> np.ndarray:
    from sklearn.datasets import load_digits

    data = load_digits()
    pixels = data.images[:count].astype(np.float32) / 16.0  # the training data's light ink, scaled to 0..1
    return ((pixels - 0.5) / 0.5).reshape(count, 1, 8, 8)


def test_health_and_metadata(client: triton.InferenceServerClient) -> None:
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("digits")
    metadata = client.get_model_metadata("digits")
    assert metadata["inputs"] == [
        {"name": "image", "datatype": "FP32", "shape": [-1, 1, 8, 8], "parameters": {"batch_axis": 0}}
    ]


@pytest.mark.parametrize(("binary_in", "binary_out"), [(True, True), (False, False), (True, False), (False, True)])
def test_infer_with_binary_and_json_tensors(
    client: triton.InferenceServerClient, binary_in: bool, binary_out: bool
) -> None:
    batch = images(5)
    tensor = triton.InferInput("image", list(batch.shape), "FP32")
    tensor.set_data_from_numpy(batch, binary_data=binary_in)
    result = client.infer("digits", [tensor], outputs=[triton.InferRequestedOutput("logits", binary_data=binary_out)])
    logits = result.as_numpy("logits")
    assert logits.shape == (5, 10)
    assert logits.argmax(axis=1).tolist() == [0, 1, 2, 3, 4]  # the first five training digits


def test_a_wrong_input_raises_our_message_in_the_client(client: triton.InferenceServerClient) -> None:
    tensor = triton.InferInput("image", [1, 1, 4, 4], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 1, 4, 4), np.float32))
    with pytest.raises(InferenceServerException, match=r"input `image`: expected shape \[-1, 1, 8, 8\]"):
        client.infer("digits", [tensor])


def test_unknown_model_is_reported(client: triton.InferenceServerClient, tmp_path: Path) -> None:
    del tmp_path
    with pytest.raises(InferenceServerException, match="model `nope` is not served here"):
        client.get_model_metadata("nope")
