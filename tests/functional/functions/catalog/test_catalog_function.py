"""The catalog function as Lambda runs it: the plain Python runtime plus the modelrail package as a layer installed
without dependencies. Run with no site-packages at all, it must answer every catalog route from stdlib alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelrail.constants import ENV_CATALOG
from modelrail.local.events import HttpRequest, build_proxy_event
from modelrail.routes import CATALOG_ROUTES
from tests.support.layer_function import ROOT, copy_layer, run_isolated

CATALOG = [{"name": "minilm", "version": "1", "task": "text-embedding", "target": "cpu"}]


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_layer(tmp_path_factory.mktemp("layer"))


def run_catalog(layer: Path, events: list[dict[str, Any]]) -> dict[str, Any]:
    return run_isolated(layer, "catalog", events, {ENV_CATALOG: json.dumps(CATALOG)})


def test_catalog_answers_every_route_with_the_stdlib_only(layer: Path) -> None:
    events = [
        build_proxy_event(HttpRequest(route.method, route.path, headers=[("Host", "h")]), resource=route.path)
        for route in CATALOG_ROUTES
    ]
    outcome = run_catalog(layer, events)
    assert outcome["third_party"] == []
    statuses = [answer["statusCode"] for answer in outcome["answers"]]
    assert statuses == [200] * len(CATALOG_ROUTES)
    bodies = {
        route.path: json.loads(answer["body"]) for route, answer in zip(CATALOG_ROUTES, outcome["answers"], strict=True)
    }
    assert bodies["/v1/models"] == {"models": [{**CATALOG[0], "ready": True}]}
    assert "/v1/models/{name}/predict" in bodies["/openapi.json"]["paths"]


def test_shipped_openapi_template_is_the_serving_apps_current_document() -> None:
    from modelrail.app import create_app
    from modelrail.settings import Settings

    current = create_app(Settings(), preload=False).openapi()
    shipped = json.loads((ROOT / "layers" / "modelrail" / "catalog" / "app_openapi.json").read_text(encoding="utf-8"))
    assert shipped == json.loads(json.dumps(current)), (
        'layers/modelrail/catalog/app_openapi.json is stale; regenerate it: .venv/bin/python -c "import json; '
        "from modelrail.app import create_app; from modelrail.settings import Settings; "
        'print(json.dumps(create_app(Settings(), preload=False).openapi(), indent=1, sort_keys=True))" '
        "> layers/modelrail/catalog/app_openapi.json"
    )
