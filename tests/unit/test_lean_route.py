"""``LeanRoute``: handlers get the Request and return the Response, with FastAPI's routing and OpenAPI intact."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from modelrail.lean_route import LeanRoute


def app_with(endpoint: object) -> FastAPI:
    app = FastAPI()
    app.router.route_class = LeanRoute
    app.add_api_route("/items/{name}", endpoint, methods=["POST"], operation_id="item")  # type: ignore[arg-type]
    return app


def test_the_endpoint_gets_the_request_and_its_path_parameters() -> None:
    async def item(request: Request) -> Response:
        body = await request.body()
        return Response(request.path_params["name"].encode() + b":" + body, media_type="text/plain")

    app = app_with(item)
    answer = TestClient(app).post("/items/abc", content=b"xyz")
    assert (answer.status_code, answer.text) == (200, "abc:xyz")
    assert app.openapi()["paths"]["/items/{name}"]["post"]["operationId"] == "item"


def test_an_exception_reaches_the_apps_exception_handlers() -> None:
    async def item(request: Request) -> Response:
        raise LookupError(request.path_params["name"])

    app = app_with(item)

    async def not_found(request: Request, exc: Exception) -> Response:
        return Response(f"no {exc}", status_code=404)

    app.add_exception_handler(LookupError, not_found)
    answer = TestClient(app).post("/items/abc")
    assert (answer.status_code, answer.text) == (404, "no abc")


def test_an_endpoint_with_parameters_to_solve_is_refused_at_start_up() -> None:
    async def item(name: str, request: Request) -> Response:
        return Response(name)

    with pytest.raises(TypeError, match="LeanRoute endpoint"):
        app_with(item)
