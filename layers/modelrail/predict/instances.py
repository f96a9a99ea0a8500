"""Task API instances from command-line arguments, per the model's task (``docs/serving.md``).

- text tasks: an argument is one text; ``@file`` is one text per line (a blank line is refused).
- image tasks: ``@image.png`` is the file's bytes as base64 (the task API takes base64 PNG or JPEG); inline
  arguments are refused, since an image is a file.
- tabular and tensor: an argument is one JSON value; ``@file.jsonl`` is one JSON value per line, any other
  ``@file`` one JSON value.

An argument starting with ``@`` always names a file.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TEXT_TASKS = frozenset({"text-embedding", "text-classification"})
IMAGE_TASKS = frozenset({"image-classification"})
JSON_TASKS = frozenset({"tabular", "tensor"})
JSON_LINES_SUFFIXES = frozenset({".jsonl", ".ndjson"})


class InstanceError(ValueError):
    """An argument that is not a valid instance for the task; the message names it and what was expected."""


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InstanceError(f"cannot read {path}: {exc.strerror}") from None


def _read_text(path: Path) -> str:
    try:
        return _read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InstanceError(f"{path} is not UTF-8 text (byte {exc.start})") from None


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InstanceError(f"{where} is not JSON ({exc}); {_task_hint('tabular')}") from None


def _task_hint(task: str) -> str:
    if task in TEXT_TASKS:
        return "give texts inline or as @file.txt (one per line)"
    if task in IMAGE_TASKS:
        return "give images as @file.png or @file.jpg"
    return "give JSON inline ('{\"x\": [1, 2]}') or as @file.jsonl (one instance per line)"


def _from_file(path: Path, task: str) -> list[Any]:
    if task in IMAGE_TASKS:
        return [base64.b64encode(_read_bytes(path)).decode("ascii")]
    if task in TEXT_TASKS:
        lines = _read_text(path).splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                raise InstanceError(f"{path}:{number} is blank; every line is one text (remove blank lines)")
        if not lines:
            raise InstanceError(f"{path} is empty; every line is one text")
        return lines
    text = _read_text(path)
    if path.suffix.lower() in JSON_LINES_SUFFIXES:
        values = [_json(line, f"{path}:{number}") for number, line in enumerate(text.splitlines(), 1) if line.strip()]
        if not values:
            raise InstanceError(f"{path} has no JSON lines")
        return values
    return [_json(text, str(path))]


def parse_instances(arguments: Sequence[str], task: str) -> list[Any]:
    """Every instance the arguments give, in order."""
    if task not in TEXT_TASKS | IMAGE_TASKS | JSON_TASKS:
        raise InstanceError(f"the model's task `{task}` is not one predict knows")
    instances: list[Any] = []
    for argument in arguments:
        if argument.startswith("@"):
            instances += _from_file(Path(argument[1:]), task)
        elif task in TEXT_TASKS:
            instances.append(argument)
        elif task in IMAGE_TASKS:
            raise InstanceError(f"`{argument[:40]}` is not a file: {_task_hint(task)}")
        else:
            instances.append(_json(argument, f"`{argument[:40]}`"))
    if not instances:
        raise InstanceError(f"no instances given: {_task_hint(task)}")
    return instances
