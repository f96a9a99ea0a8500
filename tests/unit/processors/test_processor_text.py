"""Text tasks: the packaged tokenizer re-truncated to the manifest's length, embeddings and classes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelrail.errors import InvalidInputError, UnprocessableInputError
from tests.support.serving_artifacts import load_model, text_artifact

LONG = " ".join(["word"] * 400)


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return load_model(text_artifact(tmp_path_factory.mktemp("embed")))


def test_embeddings_are_unit_vectors_one_per_text(embedder: Any) -> None:
    vectors = embedder.processor.predict(["hello world", "a completely different sentence"])
    assert len(vectors) == 2
    for vector in vectors:
        assert len(vector) == 8
        assert abs(np.linalg.norm(vector) - 1) < 1e-5
    assert not np.allclose(vectors[0], vectors[1])


def test_truncation_follows_the_manifest_not_the_packaged_tokenizer(embedder: Any, tmp_path: Path) -> None:
    # MiniLM's tokenizer.json truncates and pads to 128; the manifest says 256.
    assert embedder.processor.encoder.encode([LONG])["input_ids"].shape == (1, 256)
    assert embedder.processor.encoder.encode(["short text"])["input_ids"].shape == (1, 4)  # no fixed padding
    short = load_model(text_artifact(tmp_path / "short", max_length=16))
    assert short.processor.encoder.encode([LONG])["input_ids"].shape == (1, 16)


def test_an_embedding_does_not_depend_on_a_longer_batch_mate(embedder: Any) -> None:
    texts = ["tiny", LONG, "a medium length sentence about nothing"]
    together = embedder.processor.predict(texts)
    for text, vector in zip(texts, together, strict=True):
        np.testing.assert_allclose(vector, embedder.processor.predict([text])[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("instances", "error", "message"),
    [
        (["ok", 5], InvalidInputError, "instance 1: expected a string, got int"),
        ([None], InvalidInputError, "instance 0: expected a string, got NoneType"),
        (["ok", {"text": "x"}], InvalidInputError, "instance 1: expected a string, got dict"),
        (["x" * 2001], UnprocessableInputError, "instance 0: 2001 characters is over this model's limit of 2000"),
    ],
)
def test_bad_texts_name_the_instance(embedder: Any, instances: list[Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        embedder.processor.predict(instances)


def test_classification_answers_labels_and_scores(tmp_path: Path) -> None:
    model = load_model(text_artifact(tmp_path / "cls", classes=3))
    answers = model.processor.predict(["good film", "bad film"])
    for answer in answers:
        assert set(answer["scores"]) == {"class-0", "class-1", "class-2"}
        assert abs(sum(answer["scores"].values()) - 1) < 1e-9
        assert answer["score"] == max(answer["scores"].values())
        assert answer["scores"][answer["label"]] == answer["score"]
    assert model.processor.describe()["labels"] == ["class-0", "class-1", "class-2"]
