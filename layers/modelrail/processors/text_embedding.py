"""``text-embedding``: strings in, one L2-normalised vector per string out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from modelrail.errors import ModelUnavailableError
from modelrail.processors.text import TextEncoder
from modelrail.session import ModelSession
from modelrail.store import Artifact


class TextEmbeddingProcessor:
    """Tokenizes, runs texts of equal token count together (at most ``max_batch_size``), returns embeddings.

    The build puts pooling and L2 normalisation in the graph ([batch, dim] output); a model that outputs
    token states ([batch, tokens, dim]) is mean-pooled over its attention mask and normalised here.
    """

    def __init__(self, artifact: Artifact, session: ModelSession) -> None:
        self.session = session
        self.encoder = TextEncoder(artifact, session)
        self.output = session.outputs[0].name
        if len(session.outputs[0].shape) not in (2, 3):
            raise ModelUnavailableError(
                f"a text-embedding model outputs [batch, dim] or [batch, tokens, dim]; "
                f"`{self.output}` has shape {session.outputs[0].shape}"
            )

    def predict(self, instances: Sequence[Any]) -> list[Any]:
        """One embedding (list of floats) per text."""
        texts = self.encoder.validate(instances)
        vectors: list[Any] = [None] * len(texts)
        for indices, feeds in self.encoder.batches(texts, self.session.max_batch_size):
            output = self.session.run(feeds, [self.output])[self.output]
            if output.ndim == 3:
                output = _mean_pool(output, feeds.get("attention_mask"))
            for index, vector in zip(indices, output.tolist(), strict=True):
                vectors[index] = vector
        return vectors

    def check_feeds(self, feeds: dict[str, Any]) -> None:
        """Token tensors on v2 infer: ids within the tokenizer's vocabulary, masks of 0 and 1."""
        self.encoder.check_feeds(feeds)

    def describe(self) -> dict[str, Any]:
        """Instances are strings."""
        return {"instances": "strings", "max_chars": self.encoder.max_chars}


def _mean_pool(states: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    weights = np.ones(states.shape[:2], dtype=np.float32) if mask is None else mask.astype(np.float32)
    summed = (states.astype(np.float32) * weights[..., None]).sum(axis=1)
    pooled = summed / np.clip(weights.sum(axis=1, keepdims=True), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return np.asarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)
