"""The route table's rules shared by the cloud and local mode: trailing slashes and custom-domain base paths."""

from __future__ import annotations

import pytest

from modelrail.routes import CATALOG_ROUTES, BasePathError, Operation, normalize_base_path, route_path


@pytest.mark.parametrize(
    ("path", "routed"),
    [
        ("/v2/models/digits/", "/v2/models/digits"),
        ("/v2/models/digits", "/v2/models/digits"),
        ("/v2/", "/v2"),
        ("/", "/"),
        ("/v1/models//", "/v1/models/"),  # one slash only: `//` stays an unknown path
    ],
)
def test_one_trailing_slash_routes_as_the_path_without_it(path: str, routed: str) -> None:
    assert route_path(path) == routed


def test_server_metadata_is_a_catalog_route() -> None:
    assert ("GET", "/v2", Operation.V2_SERVER_METADATA) in {(r.method, r.path, r.operation) for r in CATALOG_ROUTES}


@pytest.mark.parametrize(
    ("value", "normalized"),
    [("prod", "/prod"), ("/prod/", "/prod"), ("prod/api", "/prod/api"), ("", None), ("/", None), (None, None)],
)
def test_base_paths_are_normalized(value: str | None, normalized: str | None) -> None:
    assert normalize_base_path(value) == normalized


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("v1", "prefix of the API's own path /v1/"),
        ("v", "prefix of the API's own path /v1/"),
        ("openapi.json", "prefix of the API's own path /openapi.json"),
        ("v2", "prefix of the API's own path /v2"),
        ("pr od", "letters, digits"),
        ("prod//api", "letters, digits"),
    ],
)
def test_a_base_path_that_would_eat_our_own_paths_is_refused(value: str, fragment: str) -> None:
    with pytest.raises(BasePathError, match=fragment):
        normalize_base_path(value)
