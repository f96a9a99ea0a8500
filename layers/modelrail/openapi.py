"""How ``/openapi.json`` describes the API: request bodies and answers by schema name, and the schemas.

Routes refer to schemas by name, so building the app never builds the pydantic models behind them
(``openapi_models``): they are made only when ``/openapi.json`` is first asked for.
"""

from __future__ import annotations

from typing import Any


def component_schemas() -> dict[str, Any]:
    """JSON schemas of the documented models, for ``components.schemas``."""
    from pydantic.json_schema import models_json_schema

    from modelrail.openapi_models import DOCUMENTED

    _, schema = models_json_schema(
        [(model, "validation") for model in DOCUMENTED], ref_template="#/components/schemas/{model}"
    )
    return dict(schema.get("$defs", {}))


def ref(schema: str) -> dict[str, str]:
    """A reference to a component schema (a model in ``openapi_models``)."""
    return {"$ref": f"#/components/schemas/{schema}"}


def json_body(*schemas: str, binary: bool = False) -> dict[str, Any]:
    """``openapi_extra`` describing a request body (several schemas: any one of them, e.g. one per task)."""
    schema = ref(schemas[0]) if len(schemas) == 1 else {"anyOf": [ref(name) for name in schemas]}
    content: dict[str, Any] = {"application/json": {"schema": schema}}
    if binary:
        content["application/octet-stream"] = {
            "schema": {"type": "string", "format": "binary"},
            "description": "JSON header (its length in Inference-Header-Content-Length) then raw tensor bytes",
        }
    return {"requestBody": {"required": True, "content": content}}


def answers(schema: str | None, *errors: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: its 200 body and the error statuses it can return."""
    documented: dict[int | str, dict[str, Any]] = {}
    if schema is not None:
        documented[200] = {"description": "OK", "content": {"application/json": {"schema": ref(schema)}}}
    for status in errors:
        documented[status] = {"description": "Error", "content": {"application/json": {"schema": ref("ErrorBody")}}}
    return documented
