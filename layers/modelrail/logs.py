"""Structured JSON logs: one object per line with the request id, model, version and timings.

Payloads are never logged: callers pass ids, sizes and timings as fields.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

try:  # the serving runtime has orjson; a function packaged without it (e.g. the catalog) gets the json module's
    import orjson
except ImportError:  # pragma: no cover - depends on the package
    orjson = None  # type: ignore[assignment]

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
        extra = {key: value for key, value in record.__dict__.items() if key not in _RESERVED}
        if record.exc_info:
            extra["exception"] = self.formatException(record.exc_info)
        return self.line(record.created, record.levelname, record.name, record.getMessage(), extra)

    def line(self, created: float, level: str, name: str, message: str, fields: Mapping[str, Any]) -> str:
        """The JSON line of one entry (``fields`` are the ``extra=`` ones)."""
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created * 1000) % 1000:03d}Z",
            "level": level,
            "logger": name,
            "message": message,
            **self.static,
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        entry.update(fields)
        return dumps_line(entry)


def dumps_line(entry: Mapping[str, Any]) -> str:
    """Compact JSON (orjson where installed: several times quicker on the request path), non-JSON values as str."""
    if orjson is not None:
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # e.g. a non-str key, or an int past 64 bits: the json module takes those
            pass
    return json.dumps(entry, default=str, separators=(",", ":"))


def log_fields(logger: logging.Logger, level: int, message: str, fields: Mapping[str, Any]) -> None:
    """``logger.log(level, message, extra=fields)``, written straight to stdout when only our handler would see it.

    Building a ``LogRecord`` (caller lookup, thread and process names) is most of a log call's cost, and the
    request line is written on every request. When ``logger`` has no handlers or filters of its own and hands its
    records to the ``modelrail`` logger's ``StdoutHandler`` alone (``configure_logging``), the line is formatted and
    written here, the same JSON; otherwise (e.g. a test's own handler) it goes through ``logging`` as usual.
    """
    if not logger.isEnabledFor(level):
        return
    parent = logger.parent
    handlers = parent.handlers if parent is not None else []
    direct = (
        not logger.handlers
        and not logger.filters
        and logger.propagate
        and parent is not None
        and parent.name == LOGGER_NAME
        and not parent.propagate
        and not parent.filters
        and len(handlers) == 1
        and type(handlers[0]) is StdoutHandler
        and not handlers[0].filters
        and level >= handlers[0].level
        and isinstance(handlers[0].formatter, JsonFormatter)
    )
    if not direct:
        logger.log(level, message, extra=dict(fields))
        return
    formatter = handlers[0].formatter
    assert isinstance(formatter, JsonFormatter)
    try:
        sys.stdout.write(formatter.line(time.time(), logging.getLevelName(level), logger.name, message, fields) + "\n")
        sys.stdout.flush()
    except Exception:  # logging must never take the request down
        return


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
