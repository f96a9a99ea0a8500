"""The route table's rules shared by the cloud and local mode: trailing slashes, custom-domain base paths, and
literal served versions only, so no request value becomes a version downstream."""

from __future__ import annotations

import pytest

from modelrail.manifest import VERSION_PATTERN
from modelrail.routes import (
    CATALOG_ROUTES,
    SERVED_VERSION,
    BasePathError,
    Operation,
    custom_attributes,
    model_routes,
    normalize_base_path,
    parse_custom_attributes,
    route_path,
)


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


def test_served_versions_follow_the_manifests_version_rule() -> None:
    assert f"^{SERVED_VERSION.pattern}$" == VERSION_PATTERN


def test_each_served_version_gets_its_own_literal_routes() -> None:
    routes = model_routes("m", versions=["1", "2024-06-01"])
    versioned = {(r.method, r.path): r.version for r in routes if r.version is not None}
    assert versioned[("POST", "/v2/models/m/versions/2024-06-01/infer")] == "2024-06-01"
    assert versioned[("GET", "/v2/models/m/versions/1/ready")] == "1"
    assert not any("{" in r.path for r in routes)


@pytest.mark.parametrize("version", ["1;route=v1-predict", "1\n", "caf\u00e9", "../1", ""])
def test_a_version_that_could_inject_is_refused_everywhere(version: str) -> None:
    with pytest.raises(ValueError, match="version"):
        model_routes("m", versions=[version])
    with pytest.raises(ValueError, match="version"):
        custom_attributes(Operation.V2_INFER, version=version)


def test_custom_attributes_round_trip() -> None:
    assert parse_custom_attributes(custom_attributes(Operation.V2_INFER, version="3")) == (Operation.V2_INFER, "3")
