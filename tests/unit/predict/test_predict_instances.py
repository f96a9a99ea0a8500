"""Command-line instances per task: texts and text files, images as base64, JSON and JSON Lines; refusals."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from modelrail.predict.instances import InstanceError, parse_instances


def test_text_tasks_take_texts_inline_and_one_per_line_from_a_file(tmp_path: Path) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("first line\nsecond, with {json-like} text\n", encoding="utf-8")
    assert parse_instances(["inline", f"@{texts}", "42"], "text-embedding") == [
        "inline",
        "first line",
        "second, with {json-like} text",
        "42",
    ]


def test_a_blank_line_in_a_text_file_is_refused_with_its_line_number(tmp_path: Path) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("one\n\nthree\n", encoding="utf-8")
    with pytest.raises(InstanceError, match=r"texts\.txt:2 is blank"):
        parse_instances([f"@{texts}"], "text-classification")


def test_an_image_file_is_sent_as_base64_of_its_bytes(tmp_path: Path) -> None:
    image = tmp_path / "digit.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert parse_instances([f"@{image}"], "image-classification") == [base64.b64encode(image.read_bytes()).decode()]


def test_an_inline_image_is_refused() -> None:
    with pytest.raises(InstanceError, match=r"@file\.png"):
        parse_instances(["iVBORw0KGgo="], "image-classification")


def test_json_tasks_parse_inline_json_and_json_lines(tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"a": 1}\n\n[1, 2, 3]\n', encoding="utf-8")
    single = tmp_path / "one.json"
    single.write_text(json.dumps({"x": [[1.0, 2.0]]}), encoding="utf-8")
    assert parse_instances(['{"a": 2}', f"@{rows}", f"@{single}"], "tabular") == [
        {"a": 2},
        {"a": 1},
        [1, 2, 3],
        {"x": [[1.0, 2.0]]},
    ]


def test_text_that_is_not_json_is_refused_for_a_tensor_model(tmp_path: Path) -> None:
    with pytest.raises(InstanceError, match=r"not JSON"):
        parse_instances(["hello"], "tensor")
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"a": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(InstanceError, match=r"rows\.jsonl:2 is not JSON"):
        parse_instances([f"@{rows}"], "tensor")


def test_a_missing_file_and_non_utf8_text_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InstanceError, match=r"cannot read"):
        parse_instances([f"@{tmp_path / 'nope.txt'}"], "text-embedding")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(InstanceError, match=r"not UTF-8"):
        parse_instances([f"@{latin}"], "text-embedding")
