"""The job routes in ``/openapi.json``: paths and schemas, added by the catalog for the models that take jobs.

Stdlib only (the catalog imports it on the bare runtime). The shapes are those ``jobs.api`` answers; limits come
from ``contract.jobs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelrail.contract import jobs as contract
from modelrail.jobs.api import MAX_BODY_BYTES
from modelrail.routes import JOB_ID_PARAMETER, JOB_ROUTES, Operation

_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
_TIMESTAMP = {"type": ["string", "null"], "description": "ISO 8601, UTC"}
_STATUS = {"type": "string", "enum": [status.value for status in contract.JobStatus]}


def _ref(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "malformed body: neither or both of `instances` and `upload`, no instances, too many, not JSON",
        404: "no such model (or it takes no jobs), or no such job for this caller",
        413: f'an inline body over {MAX_BODY_BYTES // (1024 * 1024)} MB: submit {{"upload": true}}',
        415: "a Content-Type other than application/json",
        503: "the model's job queue did not take the job; retry",
    }
    return {str(status): {"description": reasons[status], "content": _ERROR} for status in statuses}


SCHEMAS: dict[str, Any] = {
    "JobSubmitRequest": {
        "title": "JobSubmitRequest",
        "oneOf": [
            {
                "type": "object",
                "required": ["instances"],
                "additionalProperties": False,
                "properties": {
                    "instances": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": contract.MAX_LINES,
                        "description": "instances as POST /v1/models/{name}/predict takes them",
                    }
                },
            },
            {
                "type": "object",
                "required": ["upload"],
                "additionalProperties": False,
                "properties": {"upload": {"const": True, "description": "answer with a presigned PUT URL"}},
            },
        ],
    },
    "JobSubmitted": {
        "title": "JobSubmitted",
        "type": "object",
        "required": ["job_id", "model", "status"],
        "properties": {
            "job_id": {"type": "string", "pattern": f"^{contract.JOB_ID.pattern}$"},
            "model": {"type": "string"},
            "status": _STATUS,
            "upload": {
                "type": "object",
                "required": ["url", "method", "expires_at"],
                "properties": {
                    "url": {"type": "string"},
                    "method": {"const": "PUT"},
                    "expires_at": {"type": "string"},
                    "max_bytes": {"type": "integer"},
                    "max_lines": {"type": "integer"},
                    "format": {"type": "string"},
                },
            },
        },
    },
    "JobState": {
        "title": "JobState",
        "type": "object",
        "required": ["job_id", "model", "status", "counts", "errors", "created_at"],
        "properties": {
            "job_id": {"type": "string"},
            "model": {"type": "string"},
            "status": _STATUS,
            "input": {"type": "string", "enum": ["inline", "upload"]},
            "counts": {
                "type": "object",
                "required": ["done", "total", "errors"],
                "properties": {
                    "done": {"type": "integer"},
                    "total": {"type": ["integer", "null"]},
                    "errors": {"type": "integer"},
                },
            },
            "errors": {
                "type": "array",
                "maxItems": contract.MAX_LISTED_ERRORS,
                "items": {
                    "type": "object",
                    "required": ["line", "code", "message"],
                    "properties": {
                        "line": {"type": "integer"},
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            },
            "errors_truncated": {"type": "boolean"},
            "created_at": {"type": "string"},
            "started_at": _TIMESTAMP,
            "finished_at": _TIMESTAMP,
            "updated_at": _TIMESTAMP,
            "invocations": {"type": "integer"},
            "error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}},
            "upload": {"type": "object"},
            "results": {
                "type": "object",
                "required": ["url", "expires_at"],
                "properties": {
                    "url": {"type": "string"},
                    "expires_at": {"type": "string"},
                    "format": {"type": "string"},
                },
            },
        },
    },
}


def job_paths(models: Sequence[str]) -> dict[str, Any]:
    """``POST /v1/models/{name}/jobs`` (``name``: one of ``models``) and the ``/v1/jobs/{job_id}`` routes."""
    job_id = {"name": JOB_ID_PARAMETER.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
    state = {"description": "the job", "content": _ref("JobState")}
    status_route, cancel_route = JOB_ROUTES
    return {
        "/v1/models/{name}/jobs": {
            "post": {
                "summary": 'Submit a job: instances inline, or {"upload": true} for a presigned PUT URL (JSON Lines).',
                "operationId": Operation.V1_JOB_SUBMIT.value,
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string", "enum": list(models)}}
                ],
                "requestBody": {"required": True, "content": _ref("JobSubmitRequest")},
                "responses": {
                    "202": {"description": "queued", "content": _ref("JobSubmitted")},
                    **_errors(400, 404, 413, 415, 503),
                },
            }
        },
        status_route.path: {
            status_route.method.lower(): {
                "summary": "A job's status, counts, line errors, timestamps, and its results' URL once it succeeded.",
                "operationId": Operation.V1_JOB_STATUS.value,
                "parameters": [job_id],
                "responses": {"200": state, **_errors(404)},
            },
            cancel_route.method.lower(): {
                "summary": "Cancel a job that has not finished (a finished job is left as it is).",
                "operationId": Operation.V1_JOB_CANCEL.value,
                "parameters": [job_id],
                "responses": {"200": state, **_errors(404)},
            },
        },
    }
