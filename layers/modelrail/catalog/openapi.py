"""``/openapi.json`` for the whole API: the serving app's own document, filled in for the deployed models.

The app's document (one model, ``{name}`` in paths) is generated from ``modelrail.app`` and shipped as
``app_openapi.json`` next to this module, because the catalog cannot import the app (FastAPI) on the bare
runtime; a test fails with the command that regenerates it when it is stale.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from modelrail import __version__, constants
from modelrail.contract.catalog_entry import CatalogEntry
from modelrail.contract.gateway import documented_answers
from modelrail.routes import CATALOG_ROUTES, Operation

OPENAPI_TEMPLATE = "app_openapi.json"
"""The serving app's own OpenAPI document, shipped next to this module."""


def load_openapi_template() -> dict[str, Any]:
    """The serving app's OpenAPI document shipped with this package."""
    text = resources.files(__package__).joinpath(OPENAPI_TEMPLATE).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_CATALOG_SUMMARIES = {
    Operation.V1_CATALOG: "The deployed models: name, version, task, target, ready.",
    Operation.V2_HEALTH_LIVE: "200 while the API answers.",
    Operation.V2_HEALTH_READY: "200 when every deployed model can answer; else 503 naming the ones that cannot.",
    Operation.V2_SERVER_METADATA: "Server metadata: name, version and the protocol extensions every model serves.",
}


def build_openapi(
    template: Mapping[str, Any], entries: Sequence[CatalogEntry], *, server_url: str | None, auth: str
) -> dict[str, Any]:
    """The whole API's document: the app's operations for the deployed model names, plus the catalog's own."""
    document = copy.deepcopy(dict(template))
    names = [entry.name for entry in entries]
    document["info"] = {
        "title": "modelrail",
        "version": __version__,
        "description": (
            "Open Inference Protocol v2 and the task API for the deployed models: "
            + (", ".join(f"`{e.name}` {e.version} ({e.task}, {e.target})" for e in entries) or "none")
            + "."
        ),
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    paths: dict[str, Any] = document.setdefault("paths", {})
    for path_item in paths.values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("name") == "name":
                    parameter["schema"] = {"type": "string", "enum": names}
                elif parameter.get("in") == "path" and parameter.get("name") == "version":
                    # Only served versions are routes; any other is API Gateway's 404.
                    parameter["schema"] = {"type": "string", "enum": sorted({e.version for e in entries})}
            answers = operation.setdefault("responses", {})
            for status, text in documented_answers(auth).items():
                answers.setdefault(
                    status, {"description": text, "content": {"application/json": {"schema": _ERROR_REF}}}
                )
    for route in CATALOG_ROUTES:
        operation = paths.get(route.path, {}).get(route.method.lower())
        if operation is not None and route.operation in _CATALOG_SUMMARIES:
            operation["summary"] = operation["description"] = _CATALOG_SUMMARIES[route.operation]
    _add_job_paths(document, entries, auth=auth)
    paths["/openapi.json"] = {
        "get": {
            "summary": "This document.",
            "operationId": Operation.OPENAPI.value,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
            },
        }
    }
    components = document.setdefault("components", {})
    if auth == "api-key":
        components["securitySchemes"] = {"apiKey": {"type": "apiKey", "in": "header", "name": constants.API_KEY_HEADER}}
        document["security"] = [{"apiKey": []}]
    elif auth == "iam":
        components["securitySchemes"] = {
            "sigv4": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "x-amazon-apigateway-authtype": "awsSigv4",
            }
        }
        document["security"] = [{"sigv4": []}]
    return document


def _add_job_paths(document: dict[str, Any], entries: Sequence[CatalogEntry], *, auth: str) -> None:
    """The job routes: every model takes jobs (a CPU model's worker runs its model, a GPU model's sends each batch
    to its endpoint)."""
    job_models = [entry.name for entry in entries]
    if not job_models:
        return
    from modelrail.jobs.openapi import SCHEMAS, job_paths

    for path, operations in job_paths(job_models).items():
        for operation in operations.values():
            for status, text in documented_answers(auth).items():
                operation["responses"].setdefault(
                    status, {"description": text, "content": {"application/json": {"schema": _ERROR_REF}}}
                )
        document["paths"][path] = operations
    document.setdefault("components", {}).setdefault("schemas", {}).update(SCHEMAS)
