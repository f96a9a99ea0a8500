"""CloudWatch metrics in Embedded Metric Format (EMF): one JSON log line per record, no API calls.

Lambda turns these stdout lines into metrics with no agent and no latency on the request path. The
names below are a contract: the CDK stack builds alarms and the dashboard on them. Stdlib only, so
``infra/`` can import the names.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Final, Literal, TextIO

COLD_START: Final = "cold_start"
"""Count, 1 on the first request a process answers."""
MODEL_FETCH_MS: Final = "model_fetch_ms"
"""Milliseconds to fetch and verify the artifact (S3 download or local-directory check)."""
SESSION_MS: Final = "session_ms"
"""Milliseconds to build the ONNX Runtime session."""
INFERENCE_MS: Final = "inference_ms"
"""Milliseconds of one request's model work: pre-processing, session runs and post-processing."""
ERRORS: Final = "errors"
"""Count of error answers; dimension ``code`` carries the SPEC's error code."""
MODEL_LOAD_FAILURES: Final = "model_load_failures"
"""Count of failed model loads (fetch error, checksum mismatch, unreadable model)."""

_TIMESTAMP = "\u0000timestamp\u0000"
"""Stands in for the record's timestamp while its template is encoded."""

DIMENSION_MODEL: Final = "model"
DIMENSION_CODE: Final = "code"

Unit = Literal["Count", "Milliseconds"]


class MetricsEmitter:
    """Writes EMF records for one model to a stream (stdout on Lambda)."""

    def __init__(self, *, namespace: str, model: str, stream: TextIO | None = None) -> None:
        self.namespace = namespace
        self.model = model
        self._stream = stream
        self._lock = threading.Lock()
        self._templates: dict[tuple[tuple[tuple[str, Unit], ...], str | None], tuple[str, str]] = {}

    def emit(self, values: dict[str, tuple[float, Unit]], *, code: str | None = None) -> None:
        """Write one record holding ``values`` (name -> (value, unit)) for this model."""
        key = (tuple((name, unit) for name, (_, unit) in values.items()), code)
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = self._template(key[0], code)
        head, middle = template
        numbers = ",".join(f"{json.dumps(name)}:{json.dumps(value)}" for name, (value, _) in values.items())
        line = f"{head}{int(time.time() * 1000)}{middle}{numbers}}}\n"
        stream = self._stream or sys.stdout
        with self._lock:
            stream.write(line)
            stream.flush()

    def _template(self, metrics: tuple[tuple[str, Unit], ...], code: str | None) -> tuple[str, str]:
        """The record's JSON around its timestamp and values, which are all that change between records.

        Encoded once per set of metric names (a request writes the same record every time), so a record costs
        one string join instead of a JSON encoding of the whole structure.
        """
        dimensions: list[list[str]] = [[DIMENSION_MODEL]]
        record: dict[str, object] = {DIMENSION_MODEL: self.model}
        if code is not None:
            # also per model alone, so one alarm covers every code
            dimensions = [[DIMENSION_MODEL, DIMENSION_CODE], [DIMENSION_MODEL]]
            record[DIMENSION_CODE] = code
        record["_aws"] = {
            "Timestamp": _TIMESTAMP,
            "CloudWatchMetrics": [
                {
                    "Namespace": self.namespace,
                    "Dimensions": dimensions,
                    "Metrics": [{"Name": name, "Unit": unit} for name, unit in metrics],
                }
            ],
        }
        encoded = json.dumps(record, separators=(",", ":"))
        head, middle = encoded.split(json.dumps(_TIMESTAMP))
        return head, middle[:-1] + ","  # the values follow the `_aws` object, before the record's closing brace

    def count(self, name: str, *, code: str | None = None) -> None:
        """Emit a count of one."""
        self.emit({name: (1, "Count")}, code=code)
