"""Structured logs: the request line's direct path writes exactly what the logging path writes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from modelrail.logs import configure_logging, get_logger, log_fields, request_id_var


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """stdout as a buffer while the test runs (the handler writes to whatever ``sys.stdout`` is then)."""
    stream = io.StringIO()
    token = request_id_var.set("req-1")
    try:
        yield stream
    finally:
        request_id_var.reset(token)


def start(monkeypatch: pytest.MonkeyPatch, stream: io.StringIO) -> None:
    monkeypatch.setattr("sys.stdout", stream)
    configure_logging(level="INFO", model="minilm", version="1")


FIELDS = {"method": "POST", "path": "/v1/x", "status": 200, "duration_ms": 1.25, "when": object, "text": "é"}


def test_the_direct_line_equals_the_logging_line(configured: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    start(monkeypatch, configured)
    logger = get_logger("request")
    logger.info("request", extra=FIELDS)
    log_fields(logger, logging.INFO, "request", FIELDS)
    via_logging, direct = [json.loads(line) for line in configured.getvalue().splitlines()]
    assert via_logging.pop("time")[:10] == direct.pop("time")[:10]
    assert via_logging == direct
    assert direct["request_id"] == "req-1"
    assert (direct["model"], direct["version"], direct["text"]) == ("minilm", "1", "é")


def test_a_level_below_the_loggers_writes_nothing(configured: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    start(monkeypatch, configured)
    log_fields(get_logger("request"), logging.DEBUG, "request", FIELDS)
    assert configured.getvalue() == ""


def test_another_handler_on_the_logger_gets_the_record_through_logging(
    configured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(monkeypatch, configured)
    logger = get_logger("request-test")
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        log_fields(logger, logging.INFO, "request", {"status": 200})
    finally:
        logger.removeHandler(handler)
    assert [(record.getMessage(), getattr(record, "status", None)) for record in seen] == [("request", 200)]
    assert json.loads(configured.getvalue())["status"] == 200  # and, propagated, on stdout as before
