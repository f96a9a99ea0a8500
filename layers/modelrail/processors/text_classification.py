"""``text-classification``: strings in, a label and per-label scores out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelrail.processors.classify import predictions
from modelrail.processors.text import TextEncoder
from modelrail.session import ModelSession
from modelrail.store import Artifact


class TextClassificationProcessor:
    """Tokenizes, runs the classifier and softmaxes its logits into the manifest's labels."""

    def __init__(self, artifact: Artifact, session: ModelSession) -> None:
        self.session = session
        self.encoder = TextEncoder(artifact, session)
        self.output = session.outputs[0].name
        self.labels = artifact.manifest.model.labels

    def predict(self, instances: Sequence[Any]) -> list[Any]:
        """``{"label", "score", "scores"}`` per text."""
        texts = self.encoder.validate(instances)
        answers: list[Any] = [None] * len(texts)
        for indices, feeds in self.encoder.batches(texts, self.session.max_batch_size):
            logits = self.session.run(feeds, [self.output])[self.output]
            for index, answer in zip(indices, predictions(logits, self.labels), strict=True):
                answers[index] = answer
        return answers

    def check_feeds(self, feeds: dict[str, Any]) -> None:
        """Token tensors on v2 infer: ids within the tokenizer's vocabulary, masks of 0 and 1."""
        self.encoder.check_feeds(feeds)

    def describe(self) -> dict[str, Any]:
        """Instances are strings; answers use these labels."""
        return {"instances": "strings", "max_chars": self.encoder.max_chars, "labels": self.labels}
