"""The catalog function: /v1/models, health, /openapi.json, and its errors, from plain proxy events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from modelrail import __version__
from modelrail.catalog.handler import catalog_from_env, handle_event, server_url_of
from modelrail.catalog.openapi import build_openapi, load_openapi_template
from modelrail.catalog.readiness import Readiness, is_serving
from modelrail.catalog.routing import Catalog
from modelrail.catalog.settings import CatalogConfigError, parse_catalog
from modelrail.constants import ENV_API_AUTH, ENV_API_BASE_PATH, ENV_CATALOG, ENV_CORS_ORIGIN
from modelrail.contract.catalog_entry import CatalogEntry
from modelrail.errors import API_KEY_REJECTED_MESSAGE, NO_SUCH_ROUTE_MESSAGE
from modelrail.routes import CATALOG_ROUTES, app_routes

ENTRIES = [
    CatalogEntry("minilm", "1", "text-embedding", "cpu"),
    CatalogEntry("minilm-gpu", "2", "text-embedding", "gpu", endpoint="minilm-gpu-endpoint"),
]


class FakeProbe:
    """Answers like DescribeEndpoint would, and counts calls."""

    def __init__(self, status: str) -> None:
        self.status = status
        self.calls = 0

    def __call__(self, endpoint: str) -> tuple[bool, str]:
        self.calls += 1
        return is_serving(self.status), self.status


def make_catalog(status: str = "InService") -> tuple[Catalog, FakeProbe]:
    probe = FakeProbe(status)
    return Catalog(ENTRIES, readiness=Readiness(lambda: probe), openapi_template=load_openapi_template()), probe


def body(response: dict[str, Any]) -> Any:
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["isBase64Encoded"] is False
    return json.loads(response["body"])


def test_models_lists_each_entry_with_readiness() -> None:
    catalog, _ = make_catalog()
    response = catalog.answer("GET", "/v1/models")
    assert response["statusCode"] == 200
    assert body(response) == {
        "models": [
            {"name": "minilm", "version": "1", "task": "text-embedding", "target": "cpu", "ready": True},
            {"name": "minilm-gpu", "version": "2", "task": "text-embedding", "target": "gpu", "ready": True},
        ]
    }


def test_an_endpoint_out_of_service_is_not_ready_and_fails_health_ready() -> None:
    catalog, _ = make_catalog("Creating")
    listed = body(catalog.answer("GET", "/v1/models"))["models"]
    assert [entry["ready"] for entry in listed] == [True, False]
    response = catalog.answer("GET", "/v2/health/ready")
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "5"
    assert body(response) == {"error": "not ready: minilm-gpu (Creating)", "code": "model_unavailable"}


def test_readiness_is_cached_between_calls() -> None:
    catalog, probe = make_catalog()
    for _ in range(5):
        catalog.answer("GET", "/v1/models")
    assert probe.calls == 1


def test_health_live_and_ready() -> None:
    catalog, _ = make_catalog()
    assert body(catalog.answer("GET", "/v2/health/live")) == {"live": True}
    assert body(catalog.answer("GET", "/v2/health/ready")) == {"ready": True}


@pytest.mark.parametrize(("method", "path"), [("GET", "/nope"), ("POST", "/v1/models"), ("DELETE", "/openapi.json")])
def test_unknown_route_or_method_is_the_apis_404(method: str, path: str) -> None:
    catalog, _ = make_catalog()
    response = catalog.answer(method, path)
    assert response["statusCode"] == 404
    document = body(response)
    assert document["code"] == "not_found"
    assert document["error"].startswith(NO_SUCH_ROUTE_MESSAGE)


def test_openapi_describes_every_route_of_every_deployed_model() -> None:
    catalog, _ = make_catalog()
    document = body(catalog.answer("GET", "/openapi.json", server_url="https://api.example/prod"))
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": "https://api.example/prod"}]
    assert "`minilm-gpu` 2 (text-embedding, gpu)" in document["info"]["description"]
    paths = document["paths"]
    for route in [*app_routes(), *CATALOG_ROUTES]:
        assert route.method.lower() in paths[route.path], route
    predict = paths["/v1/models/{name}/predict"]["post"]
    name_parameter = next(p for p in predict["parameters"] if p["name"] == "name")
    assert name_parameter["schema"]["enum"] == ["minilm", "minilm-gpu"]
    assert predict["responses"]["403"]["description"] == API_KEY_REJECTED_MESSAGE
    assert {"404", "413", "429"} <= set(predict["responses"])
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
    }
    assert document["security"] == [{"apiKey": []}]
    assert "ErrorBody" in document["components"]["schemas"]
    submit = paths["/v1/models/{name}/jobs"]["post"]
    assert submit["parameters"][0]["schema"]["enum"] == ["minilm", "minilm-gpu"]  # GPU models take jobs too
    assert {"202", "400", "403", "404", "413"} <= set(submit["responses"])
    assert set(paths["/v1/jobs/{job_id}"]) == {"get", "delete"}
    assert "JobState" in document["components"]["schemas"]


def test_openapi_for_iam_and_for_no_auth() -> None:
    template = load_openapi_template()
    iam = build_openapi(template, ENTRIES, server_url=None, auth="iam")
    assert "sigv4" in iam["components"]["securitySchemes"]
    assert "servers" not in iam
    open_api = build_openapi(template, ENTRIES, server_url=None, auth="none")
    assert "security" not in open_api
    assert "403" not in open_api["paths"]["/v1/models/{name}/predict"]["post"]["responses"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (None, "is not set"),
        ("", "is not set"),
        ("{", "is not JSON"),
        ('{"name": "x"}', "must be a JSON list"),
        ('[{"name": "x", "version": "1", "task": "tensor"}]', "[0] needs string fields"),
        ('[{"name": "x", "version": 1, "task": "tensor", "target": "cpu"}]', "[0] needs string fields"),
        ('[{"name": "x", "version": "1", "task": "tensor", "target": "gpu", "endpoint": 3}]', "endpoint must"),
    ],
)
def test_bad_catalog_env_names_the_variable_and_the_problem(text: str | None, fragment: str) -> None:
    with pytest.raises(CatalogConfigError) as caught:
        parse_catalog(text)
    assert ENV_CATALOG in caught.value.message
    assert fragment in caught.value.message


def test_catalog_env_parses_entries() -> None:
    text = json.dumps([{"name": "digits", "version": "1", "task": "image-classification", "target": "cpu"}])
    assert parse_catalog(text) == [CatalogEntry("digits", "1", "image-classification", "cpu")]


class Context:
    aws_request_id = "req-1"


@pytest.fixture
def fresh_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    catalog_from_env.cache_clear()
    monkeypatch.delenv(ENV_API_AUTH, raising=False)
    yield monkeypatch
    catalog_from_env.cache_clear()


def rest_event(path: str, method: str = "GET") -> dict[str, Any]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"Host": "abc.execute-api.eu-west-1.amazonaws.com", "X-Forwarded-Proto": "https"},
        "requestContext": {
            "stage": "prod",
            "domainName": "abc.execute-api.eu-west-1.amazonaws.com",
            "path": f"/prod{path}",
        },
    }


def test_handler_answers_a_rest_event_from_env(fresh_env: pytest.MonkeyPatch) -> None:
    fresh_env.setenv(ENV_CATALOG, json.dumps([{"name": "m", "version": "1", "task": "tensor", "target": "cpu"}]))
    response = handle_event(rest_event("/v1/models"), Context())
    assert response["statusCode"] == 200
    assert body(response)["models"][0]["name"] == "m"
    document = body(handle_event(rest_event("/openapi.json"), Context()))
    assert document["servers"] == [{"url": "/prod"}]  # relative: resolved against the document's own URL


def test_handler_without_catalog_env_answers_500_naming_it(fresh_env: pytest.MonkeyPatch) -> None:
    fresh_env.delenv(ENV_CATALOG, raising=False)
    response = handle_event(rest_event("/v1/models"), Context())
    assert response["statusCode"] == 500
    document = body(response)
    assert document["code"] == "internal_error"
    assert ENV_CATALOG in document["error"]


def test_handler_rejects_an_unknown_auth_mode(fresh_env: pytest.MonkeyPatch) -> None:
    fresh_env.setenv(ENV_CATALOG, "[]")
    fresh_env.setenv(ENV_API_AUTH, "password")
    response = handle_event(rest_event("/v1/models"), Context())
    assert response["statusCode"] == 500
    assert ENV_API_AUTH in body(response)["error"]


def test_handler_adds_the_cors_origin_to_every_answer_only_when_set(fresh_env: pytest.MonkeyPatch) -> None:
    fresh_env.setenv(ENV_CATALOG, "[]")
    fresh_env.delenv(ENV_CORS_ORIGIN, raising=False)
    assert "Access-Control-Allow-Origin" not in handle_event(rest_event("/v1/models"), Context())["headers"]
    fresh_env.setenv(ENV_CORS_ORIGIN, "https://app.example.com")
    for path in ("/v1/models", "/nope"):  # an answer and an error
        headers = handle_event(rest_event(path), Context())["headers"]
        assert headers["Access-Control-Allow-Origin"] == "https://app.example.com", path


def test_handler_never_raises_on_junk_events(fresh_env: pytest.MonkeyPatch) -> None:
    fresh_env.setenv(ENV_CATALOG, "[]")
    for event in ({}, {"httpMethod": None, "path": None}, {"resource": "/v1/models", "headers": None}):
        response = handle_event(event, None)
        assert response["statusCode"] in (200, 404)
        assert set(body(response)) in ({"models"}, {"error", "code"})


def test_server_url_is_the_stage_as_a_relative_url_never_the_host_header() -> None:
    headers = {"Host": "evil.example", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example"}
    cloud = {"path": "/openapi.json", "headers": headers, "requestContext": {"path": "/prod/openapi.json"}}
    assert server_url_of(cloud) == "/prod"
    local = {"path": "/openapi.json", "headers": headers, "requestContext": {"path": "/openapi.json"}}
    assert server_url_of(local) is None
    assert server_url_of({"headers": headers, "requestContext": {"domainName": "localhost"}}) is None
    odd = {"path": "/openapi.json", "requestContext": {"path": "/a b\n/openapi.json"}}
    assert server_url_of(odd) is None
    assert server_url_of({}) is None


def test_server_metadata_names_the_server_its_version_and_the_binary_extension() -> None:
    catalog, _ = make_catalog()
    for path in ("/v2", "/v2/"):
        response = catalog.answer("GET", path)
        assert response["statusCode"] == 200, path
        assert body(response) == {"name": "modelrail", "version": __version__, "extensions": ["binary_tensor_data"]}


@pytest.mark.parametrize("path", ["/v1/models/", "/v2/health/live/", "/v2/health/ready/", "/openapi.json/"])
def test_a_trailing_slash_answers_as_the_route_without_it(path: str) -> None:
    catalog, _ = make_catalog()
    with_slash, without = catalog.answer("GET", path), catalog.answer("GET", path[:-1])
    assert with_slash["statusCode"] == without["statusCode"] == 200
    assert body(with_slash) == body(without)


def test_handler_reads_http_api_payload_2_events(fresh_env: pytest.MonkeyPatch) -> None:
    fresh_env.setenv(ENV_CATALOG, "[]")
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/v2/",
        "rawQueryString": "",
        "headers": {"host": "id.execute-api.us-east-1.amazonaws.com"},
        "requestContext": {"http": {"method": "GET", "path": "/v2/"}, "stage": "$default"},
    }
    response = handle_event(event, Context())
    assert response["statusCode"] == 200
    assert body(response)["extensions"] == ["binary_tensor_data"]
    event["requestContext"]["http"]["method"] = "POST"
    assert handle_event(event, Context())["statusCode"] == 404


def test_openapi_servers_keep_a_custom_domains_base_path(fresh_env: pytest.MonkeyPatch) -> None:
    fresh_env.setenv(ENV_CATALOG, "[]")
    fresh_env.setenv(ENV_API_BASE_PATH, "prod")
    event = {
        "resource": "/openapi.json",
        "path": "/prod/openapi.json",  # through api.example.com/prod: the event keeps the base path
        "httpMethod": "GET",
        "headers": {"Host": "api.example.com"},
        "requestContext": {"stage": "live", "domainName": "api.example.com"},
    }
    document = body(handle_event(event, Context()))
    assert document["servers"] == [{"url": "/prod"}]  # relative, resolved against the document's own URL
    direct = {**rest_event("/openapi.json")}  # the execute-api URL: stage, no base path
    assert body(handle_event(direct, Context()))["servers"] == [{"url": "/prod"}]


def test_a_base_path_that_cannot_be_served_is_a_500_naming_the_variable(fresh_env: pytest.MonkeyPatch) -> None:
    fresh_env.setenv(ENV_CATALOG, "[]")
    fresh_env.setenv(ENV_API_BASE_PATH, "v1")
    response = handle_event(rest_event("/v1/models"), Context())
    assert response["statusCode"] == 500
    assert ENV_API_BASE_PATH in body(response)["error"]


def test_openapi_servers_never_echo_the_host_header(fresh_env: pytest.MonkeyPatch) -> None:
    fresh_env.setenv(ENV_CATALOG, "[]")
    event = {
        "httpMethod": "GET",
        "resource": "/openapi.json",
        "path": "/openapi.json",
        "headers": {"Host": "evil.example"},
        "requestContext": {"path": "/openapi.json", "domainName": "localhost"},
    }
    document = body(handle_event(event, None))
    assert "evil" not in json.dumps(document)


def test_an_unknown_route_is_echoed_printable_and_bounded() -> None:
    catalog, _ = make_catalog()
    answer = body(catalog.answer("GET", "/nope\n<script>" + "x" * 500))
    assert "\n" not in answer["error"]
    assert "<" not in answer["error"]
    assert "/nope%0A%3Cscript%3E" in answer["error"]
    assert len(answer["error"]) < 400
