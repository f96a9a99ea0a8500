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
