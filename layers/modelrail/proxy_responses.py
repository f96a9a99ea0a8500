"""Lambda proxy responses for the functions that answer API Gateway without the web app (the catalog and the jobs
API): a JSON body, and the SPEC's error body. Stdlib only, like those functions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from modelrail.errors import ModelrailError
from modelrail.logs import request_id_var


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A proxy response with ``body`` as compact JSON."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def error_response(error: ModelrailError) -> dict[str, Any]:
    """The SPEC's error body as a proxy response (``Retry-After`` where the error has one)."""
    headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s is not None else None
    return json_response(error.status, error.to_body(request_id_var.get()), headers)
