"""schemathesis against `modelrail local up`: every operation of the served `/openapi.json`, bounded and
deterministic, with no server error and no answer outside the document (status, content type, body schema);
and, per model, that its task's request schema allows nothing the server refuses as malformed.

Bounded for CI: at most ``MAX_EXAMPLES`` generated requests per operation, derandomized (the same requests
every run), no example database. The ``{name}`` and ``{version}`` path parameters are narrowed to what this
deployment serves (read from the catalog), so the bodies reach real models instead of stopping at 404; the
bodies themselves come from the document's schemas unchanged.
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TIMEOUT_S = 30
TASK_REQUESTS = {
    "text-embedding": "V1TextRequest",
    "text-classification": "V1TextRequest",
    "image-classification": "V1ImageRequest",
}
"""Tasks whose v1 request schema says all a request must be: any body it allows is accepted or, when its
content cannot be used (an image that does not decode, a text over the model's length), answered 422, never
400. Tabular and tensor requests also need the model's feature or input names, which the generic document
cannot list (``GET /v2/models/{name}`` does)."""
ACCEPTED = ["200", "422"]


def _served_document(local_stack: LocalStack) -> dict[str, Any]:
    """The served document, its path parameters narrowed to the served model names and versions."""
    with local_stack.client() as client:
        document = client.get("/openapi.json").raise_for_status().json()
        models = client.get("/v1/models").raise_for_status().json()["models"]
    names = sorted(model["name"] for model in models)
    versions = sorted({str(model["version"]) for model in models})
    narrowed = copy.deepcopy(document)
    for operations in narrowed["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] == "name":
                    parameter["schema"] = {"type": "string", "enum": names}
                elif parameter["in"] == "path" and parameter["name"] == "version":
                    parameter["schema"] = {"type": "string", "enum": versions}
    return narrowed


def _exercise(
    operation: Any, local_stack: LocalStack, statuses: Counter[int], checks: list[Any] = CHECKS
) -> str | None:
    """Up to ``MAX_EXAMPLES`` generated requests to one operation; its first failure, shrunk, or None."""
    headers = {"x-api-key": local_stack.api_key}

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=operation.as_strategy())
    def exercise(case: schemathesis.Case) -> None:
        response = case.call(base_url=local_stack.url, headers=headers, timeout=TIMEOUT_S)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=checks, headers=headers)

    try:
        exercise()
    except Exception as exc:  # every operation runs; the failures are asserted together
        return f"{operation.label}: {type(exc).__name__}: {str(exc)[:800]}"
    return None


def test_served_openapi_document_holds_for_generated_requests(local_stack: LocalStack) -> None:
    schema = schemathesis.openapi.from_dict(_served_document(local_stack))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    statuses: Counter[int] = Counter()
    started = time.monotonic()
    failures = [found for op in operations if (found := _exercise(op, local_stack, statuses)) is not None]
    elapsed = time.monotonic() - started
    print(
        f"schemathesis: {sum(statuses.values())} requests, {len(operations)} operations, {elapsed:.1f} s, "
        f"statuses {dict(sorted(statuses.items()))}, failures {len(failures)}"
    )
    assert not failures, "\n\n".join(failures)
    assert not [status for status in statuses if status >= 500]
    assert statuses[200] > 0


def test_documented_request_schemas_refuse_what_the_server_refuses(local_stack: LocalStack) -> None:
    """The issue's three examples: each is now outside the document, and the server still refuses it."""
    from jsonschema import Draft202012Validator, FormatChecker

    document = _served_document(local_stack)
    schemas = document["components"]["schemas"]

    def valid(name: str, body: Any) -> bool:
        text = json.dumps({**schemas[name], "$defs": schemas}).replace("#/components/schemas/", "#/$defs/")
        return Draft202012Validator(json.loads(text), format_checker=FormatChecker()).is_valid(body)

    v1 = [name for name in schemas if name.startswith("V1") and name.endswith("Request")]
    assert not any(valid(name, {"instances": [None]}) for name in v1)
    assert not valid("V2InferRequest", {"inputs": []})
    assert not valid("V1ImageRequest", {"instances": ["not an image!"]})
    with local_stack.client() as client:
        assert client.post("/v1/models/digits/predict", json={"instances": [None]}).status_code == 400
        assert client.post("/v2/models/digits/infer", json={"inputs": []}).status_code == 400
        answer = client.post("/v1/models/digits/predict", json={"instances": ["not an image!"]})
        assert answer.status_code in (400, 422)


def test_local_stack_serves_the_document_it_ships(local_stack: LocalStack) -> None:
    with local_stack.client() as client:
        served = client.get("/openapi.json").raise_for_status().json()
    assert served["components"]["schemas"]["V2InferRequest"]["properties"]["inputs"]["minItems"] == 1


def test_v1_task_schemas_promise_no_more_than_is_served(local_stack: LocalStack) -> None:
    """Per model, its task's v1 request schema: every body it allows must be accepted (or be 422), never 400."""
    document = _served_document(local_stack)
    with local_stack.client() as client:
        models = client.get("/v1/models").raise_for_status().json()["models"]
    tested = [model for model in models if model["task"] in TASK_REQUESTS]
    assert {model["task"] for model in tested} >= {"text-embedding", "image-classification"}
    config = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}}})
    statuses: Counter[int] = Counter()
    failures = []
    for model in tested:
        narrowed = copy.deepcopy(document)
        predict = narrowed["paths"]["/v1/models/{name}/predict"]
        narrowed["paths"] = {"/v1/models/{name}/predict": predict}
        predict["post"]["parameters"][0]["schema"] = {"type": "string", "enum": [model["name"]]}
        body = {"$ref": f"#/components/schemas/{TASK_REQUESTS[model['task']]}"}
        predict["post"]["requestBody"]["content"]["application/json"]["schema"] = body
        schema = schemathesis.openapi.from_dict(narrowed, config=config)
        [operation] = [result.ok() for result in schema.get_all_operations()]
        found = _exercise(operation, local_stack, statuses, [*CHECKS, positive_data_acceptance])
        if found is not None:
            failures.append(f"{model['name']} ({model['task']}): {found}")
    print(f"schemathesis positive data: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")
    assert not failures, "\n\n".join(failures)
