"""Structured JSON logs: one object per line with the request id, model, version and timings.

Payloads are never logged: callers pass ids, sizes and timings as fields.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

LOGGER_NAME = "modelrail"

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("modelrail_request_id", default=None)
"""The request being answered, so every line logged while answering it carries its id."""

_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; ``extra=`` fields become top-level keys."""

    def __init__(self, *, static: dict[str, str] | None = None) -> None:
        super().__init__()
        self.static = static or {}

    def format(self, record: logging.LogRecord) -> str:
        """One line of JSON."""
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **self.static,
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        entry.update({key: value for key, value in record.__dict__.items() if key not in _RESERVED})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


class StdoutHandler(logging.Handler):
    """Writes to whatever ``sys.stdout`` is at emit time (Lambda ships stdout to CloudWatch Logs)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write one formatted line."""
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # logging must never take the request down
            self.handleError(record)


def configure_logging(*, level: str, model: str | None, version: str | None) -> logging.Logger:
    """Send the ``modelrail`` logger's records to stdout as JSON (idempotent)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    static = {key: value for key, value in (("model", model), ("version", version)) if value is not None}
    formatter = JsonFormatter(static=static)
    handler = next((h for h in logger.handlers if isinstance(h, StdoutHandler)), None)
    if handler is None:
        handler = StdoutHandler()
        logger.addHandler(handler)
    handler.setFormatter(formatter)
    # Lambda's runtime puts its own plain-text handler on the root logger; one JSON line per event is enough.
    logger.propagate = False
    return logger


def set_model_context(*, model: str, version: str) -> None:
    """Name the model and version on every later line (once the artifact says what it serves)."""
    for handler in logging.getLogger(LOGGER_NAME).handlers:
        if isinstance(handler, StdoutHandler) and isinstance(handler.formatter, JsonFormatter):
            handler.formatter.static.update(model=model, version=version)


def get_logger(name: str) -> logging.Logger:
    """A child of the ``modelrail`` logger."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}")
