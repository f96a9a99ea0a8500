"""The v1 task API body: ``{"instances": [...]}`` in, ``{"model", "version", "predictions"}`` out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelrail.codecs import PredictResponse, V1TaskCodec
from modelrail.codecs.v1_task import MAX_INSTANCES
from modelrail.errors import InvalidInputError

CODEC = V1TaskCodec()


def test_round_trip() -> None:
    assert CODEC.decode(b'{"instances": ["a", {"b": 1}]}', {}).instances == ["a", {"b": 1}]
    encoded = CODEC.encode(PredictResponse(model="m", version="2", predictions=[[0.5], "x"]))
    assert json.loads(encoded.body) == {"model": "m", "version": "2", "predictions": [[0.5], "x"]}
    assert encoded.media_type == "application/json"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (["a"], r'the body must be a JSON object \{"instances": \[...\]\}$'),
        ({"inputs": []}, r"tensors go to POST /v2/models/<name>/infer"),
        ({"instances": []}, "`instances` must be a non-empty list"),
        ({"instances": "abc"}, "`instances` must be a non-empty list"),
        ({"instances": [1] * (MAX_INSTANCES + 1)}, f"has {MAX_INSTANCES + 1} items; at most {MAX_INSTANCES}"),
    ],
)
def test_bad_bodies_say_what_is_expected(document: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        CODEC.decode(json.dumps(document).encode(), {})
