"""Tokenization shared by the text tasks: the artifact's tokenizer.json, truncated to the manifest's length."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from modelrail.datatypes import NUMPY_BY_DATATYPE
from modelrail.errors import InvalidInputError, ModelUnavailableError, UnprocessableInputError
from modelrail.manifest import TextProcessing
from modelrail.session import Feeds, ModelSession
from modelrail.store import Artifact

TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


class TextEncoder:
    """Validates text instances and turns them into the model's token tensors."""

    def __init__(self, artifact: Artifact, session: ModelSession) -> None:
        from tokenizers import Tokenizer

        processing = artifact.manifest.model.processing
        if not isinstance(processing, TextProcessing):
            raise ModelUnavailableError(f"a {artifact.manifest.task.value} model needs text processing settings")
        if processing.tokenizer not in artifact.manifest.files:
            raise ModelUnavailableError(f"the tokenizer `{processing.tokenizer}` is not among the artifact's files")
        unknown = [spec.name for spec in session.inputs if spec.name not in TOKEN_INPUTS]
        if unknown or "input_ids" not in {spec.name for spec in session.inputs}:
            raise ModelUnavailableError(
                f"a text model takes {', '.join(TOKEN_INPUTS)}; this one takes {[s.name for s in session.inputs]}"
            )
        self.max_chars = processing.max_chars
        # Gather wraps negative indices and the graph's tables fit the tokenizer, so v2 infer checks ids against
        # it: [0, vocabulary) for input_ids, the type ids the tokenizer itself makes for token_type_ids.
        self._dtypes = {spec.name: NUMPY_BY_DATATYPE[spec.datatype] for spec in session.inputs}
        fixed = {spec.shape[1] for spec in session.inputs if len(spec.shape) == 2 and spec.shape[1] > 0}
        self._tokenizer = Tokenizer.from_file(str(artifact.path(processing.tokenizer)))
        # The packaged tokenizer.json may carry its own truncation and fixed padding (MiniLM's: 128); the
        # manifest's max_length rules. No padding unless the graph has a fixed length: texts are batched only
        # with texts of the same token count, because padding changes a text's answer (7e-5 in fp16 MiniLM).
        self.vocab_size = self._tokenizer.get_vocab_size(with_added_tokens=True)
        pair = self._tokenizer.encode("a", "b")
        self.type_vocab_size = max(pair.type_ids) + 1
        length = min([processing.max_length, *fixed])
        self._tokenizer.enable_truncation(max_length=length)
        padding = self._tokenizer.padding or {}
        self._tokenizer.no_padding()
        if fixed:
            self._tokenizer.enable_padding(
                pad_id=int(padding.get("pad_id", 0)),
                pad_type_id=int(padding.get("pad_type_id", 0)),
                pad_token=str(padding.get("pad_token", "[PAD]")),
                length=length,
            )

    def validate(self, instances: Sequence[Any]) -> list[str]:
        """Every instance must be a string of at most ``max_chars`` characters."""
        texts = []
        for index, instance in enumerate(instances):
            if not isinstance(instance, str):
                raise InvalidInputError(f"instance {index}: expected a string, got {type(instance).__name__}")
            if len(instance) > self.max_chars:
                raise UnprocessableInputError(
                    f"instance {index}: {len(instance)} characters is over this model's limit of {self.max_chars}"
                )
            texts.append(instance)
        return texts

    def check_feeds(self, feeds: Feeds) -> None:
        """Refuse token values the model would silently misread (422 naming the input and the range)."""
        limits = {"input_ids": self.vocab_size, "token_type_ids": self.type_vocab_size, "attention_mask": 2}
        for name, upper in limits.items():
            array = feeds.get(name)
            if array is None or array.size == 0:
                continue
            low, high = int(array.min()), int(array.max())
            if low < 0 or high >= upper:
                bad = low if low < 0 else high
                raise UnprocessableInputError(
                    f"input `{name}`: value {bad} is outside [0, {upper - 1}], the range this model's tokenizer "
                    "defines; token ids come from its vocabulary"
                )

    def encode(self, texts: Sequence[str]) -> Feeds:
        """Token tensors for texts of equal token count (or one text)."""
        return self._feeds(self._tokenizer.encode_batch(list(texts)))

    def batches(self, texts: Sequence[str], max_batch_size: int) -> Iterator[tuple[list[int], Feeds]]:
        """(instance indices, feeds) per session call: same-length texts together, at most max_batch_size."""
        encodings = self._tokenizer.encode_batch(list(texts))
        by_length: dict[int, list[int]] = {}
        for index, encoding in enumerate(encodings):
            by_length.setdefault(len(encoding.ids), []).append(index)
        for indices in by_length.values():
            for start in range(0, len(indices), max_batch_size):
                chunk = indices[start : start + max_batch_size]
                yield chunk, self._feeds([encodings[index] for index in chunk])

    def _feeds(self, encodings: Sequence[Any]) -> Feeds:
        columns = {
            "input_ids": [encoding.ids for encoding in encodings],
            "attention_mask": [encoding.attention_mask for encoding in encodings],
            "token_type_ids": [encoding.type_ids for encoding in encodings],
        }
        return {name: np.asarray(columns[name], dtype=dtype) for name, dtype in self._dtypes.items()}
