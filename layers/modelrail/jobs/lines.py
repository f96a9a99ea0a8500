"""Reading JSON Lines from a byte stream: bounded line length, byte offsets for resuming, per-line parse errors."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from modelrail.contract import jobs as contract
from modelrail.jobs.state import LineError

READ_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RawLine:
    """One line's bytes (without its newline) and where the next line starts; ``data`` is None when too long."""

    data: bytes | None
    end: int
    """Byte offset just past this line's newline."""


def raw_lines(
    chunks: Iterable[bytes], *, start: int = 0, max_bytes: int = contract.MAX_LINE_BYTES
) -> Iterator[RawLine]:
    """Split a stream into lines (``\\n``; a trailing ``\\r`` is dropped), never holding more than ``max_bytes``
    of one line. A final line without a newline still counts; an empty stream has no lines."""
    pending = bytearray()
    too_long = False
    offset = start
    for chunk in chunks:
        position = 0
        while position < len(chunk):
            newline = chunk.find(b"\n", position)
            stop = len(chunk) if newline < 0 else newline
            if not too_long:
                pending += chunk[position:stop]
                if len(pending) > max_bytes:
                    too_long, pending = True, bytearray()
            offset += stop - position
            if newline < 0:
                break
            offset += 1
            yield RawLine(None if too_long else bytes(pending).removesuffix(b"\r"), offset)
            pending, too_long = bytearray(), False
            position = newline + 1
    if pending or too_long:
        yield RawLine(None if too_long else bytes(pending).removesuffix(b"\r"), offset)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_line(line: RawLine, number: int) -> tuple[Any, LineError | None]:
    """The instance on a line, or the error that line gets (its 1-based ``number``)."""
    if line.data is None:
        return None, LineError(number, "payload_too_large", f"line {number} is over {contract.MAX_LINE_BYTES} bytes")
    try:
        text = line.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, LineError(number, "invalid_input", f"line {number} is not valid UTF-8 (byte {exc.start + 1})")
    if not text.strip():
        return None, LineError(number, "invalid_input", f"line {number} is empty; each line must be one JSON value")
    try:
        return json.loads(text, parse_constant=_no_constants), None
    except json.JSONDecodeError as exc:
        return None, LineError(number, "invalid_input", f"line {number} is not JSON: {exc.msg} at column {exc.colno}")
    except ValueError as exc:
        return None, LineError(number, "invalid_input", f"line {number} is not JSON: {exc}")
