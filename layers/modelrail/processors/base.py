"""The processor interface: v1 task instances in, predictions out, one implementation per task.

Each task lives in its own module and is imported only when a model of that task loads, so a text
model's process never imports Pillow and an image model's never imports tokenizers.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from modelrail.errors import ModelUnavailableError
from modelrail.manifest import Task
from modelrail.session import ModelSession
from modelrail.store import Artifact

T = TypeVar("T")


class Processor(Protocol):
    """Turns a request's instances into session calls and the outputs into one prediction per instance.

    Implementations validate every instance before running anything (errors name the instance index,
    the field and what was expected) and never let one instance's answer depend on another's.
    """

    def __init__(self, artifact: Artifact, session: ModelSession) -> None: ...

    def predict(self, instances: Sequence[Any]) -> list[Any]:
        """One prediction per instance, in order."""
        ...

    def describe(self) -> dict[str, Any]:
        """What callers must know to build instances (e.g. image size and polarity), for model metadata."""
        ...


@runtime_checkable
class FeedChecker(Protocol):
    """A processor that also knows which tensor *values* its model takes (e.g. token ids within the vocabulary),
    checked on v2 infer before the session runs: ONNX Runtime would wrap or clamp what it should refuse."""

    def check_feeds(self, feeds: dict[str, Any]) -> None:
        """Raise ``UnprocessableInputError`` naming the input and the allowed range."""
        ...


_REGISTRY: dict[Task, str] = {
    Task.TENSOR: "modelrail.processors.tensor:TensorProcessor",
    Task.TEXT_EMBEDDING: "modelrail.processors.text_embedding:TextEmbeddingProcessor",
    Task.TEXT_CLASSIFICATION: "modelrail.processors.text_classification:TextClassificationProcessor",
    Task.IMAGE_CLASSIFICATION: "modelrail.processors.image_classification:ImageClassificationProcessor",
    Task.TABULAR: "modelrail.processors.tabular:TabularProcessor",
}


def processor_for(artifact: Artifact, session: ModelSession) -> Processor:
    """Build the processor registered for the artifact's task."""
    module_name, class_name = _REGISTRY[artifact.manifest.task].split(":")
    processor_class: type[Processor] = getattr(importlib.import_module(module_name), class_name)
    return processor_class(artifact, session)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def single_input(session: ModelSession, task: Task) -> str:
    """The name of a model's only input; tasks that feed one tensor refuse other models."""
    if len(session.inputs) != 1:
        names = [spec.name for spec in session.inputs]
        raise ModelUnavailableError(f"a {task.value} model must have exactly one input, this one has {names}")
    return session.inputs[0].name
