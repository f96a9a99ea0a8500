"""EMF records: the names and dimensions the CDK dashboard and alarms are built on."""

from __future__ import annotations

import io
import json

from modelrail import metrics
from modelrail.metrics import MetricsEmitter


def test_a_record_is_one_emf_line_with_the_model_dimension() -> None:
    stream = io.StringIO()
    MetricsEmitter(namespace="modelrail", model="minilm", stream=stream).emit(
        {metrics.MODEL_FETCH_MS: (12.5, "Milliseconds"), metrics.SESSION_MS: (80.0, "Milliseconds")}
    )
    record = json.loads(stream.getvalue())
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "modelrail"
    assert directive["Dimensions"] == [["model"]]
    assert directive["Metrics"] == [
        {"Name": "model_fetch_ms", "Unit": "Milliseconds"},
        {"Name": "session_ms", "Unit": "Milliseconds"},
    ]
    assert (record["model"], record["model_fetch_ms"], record["session_ms"]) == ("minilm", 12.5, 80.0)
    assert isinstance(record["_aws"]["Timestamp"], int)


def test_errors_carry_their_code_and_roll_up_per_model() -> None:
    stream = io.StringIO()
    MetricsEmitter(namespace="ns", model="digits", stream=stream).count(metrics.ERRORS, code="invalid_input")
    record = json.loads(stream.getvalue())
    assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["model", "code"], ["model"]]
    assert (record["code"], record["errors"]) == ("invalid_input", 1)


def test_records_of_the_same_shape_keep_their_own_values_codes_and_timestamps() -> None:
    """Each record's JSON is encoded once per shape and reused: only the values and the timestamp change."""
    stream = io.StringIO()
    emitter = MetricsEmitter(namespace="ns", model='odd "name"', stream=stream)
    emitter.emit({metrics.INFERENCE_MS: (1.5, "Milliseconds")})
    emitter.count(metrics.ERRORS, code="invalid_input")
    emitter.emit({metrics.INFERENCE_MS: (2.25, "Milliseconds")})
    emitter.count(metrics.ERRORS, code="model_not_found")
    first, error, second, other = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (first["model"], first["inference_ms"], second["inference_ms"]) == ('odd "name"', 1.5, 2.25)
    assert first["_aws"] == {**second["_aws"], "Timestamp": first["_aws"]["Timestamp"]}
    assert (error["code"], other["code"], other["errors"]) == ("invalid_input", "model_not_found", 1)
    assert other["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["model", "code"], ["model"]]
