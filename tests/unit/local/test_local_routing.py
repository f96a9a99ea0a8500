"""The local gateway resolves paths exactly to the route table the stack builds API Gateway from."""

from __future__ import annotations

import pytest

from modelrail.local.routing import CATALOG, RouteTable
from modelrail.routes import CATALOG_ROUTES, Operation, model_routes

VERSIONS = {"minilm": ["3", "x.1"], "digits": ["1"]}
TABLE = RouteTable.for_models(VERSIONS)


@pytest.mark.parametrize(
    ("method", "path", "compute", "operation", "parameters"),
    [
        ("POST", "/v1/models/minilm/predict", "minilm", Operation.V1_PREDICT, {}),
        ("GET", "/v2/models/digits", "digits", Operation.V2_MODEL_METADATA, {}),
        ("GET", "/v2/models/digits/ready", "digits", Operation.V2_MODEL_READY, {}),
        ("POST", "/v2/models/minilm/infer", "minilm", Operation.V2_INFER, {}),
        ("POST", "/v2/models/minilm/versions/3/infer", "minilm", Operation.V2_INFER, {}),
        ("GET", "/v2/models/minilm/versions/x.1", "minilm", Operation.V2_MODEL_METADATA, {}),
        ("GET", "/v1/models", CATALOG, Operation.V1_CATALOG, {}),
        ("GET", "/v2/health/ready", CATALOG, Operation.V2_HEALTH_READY, {}),
        ("GET", "/openapi.json", CATALOG, Operation.OPENAPI, {}),
        ("GET", "/v2", CATALOG, Operation.V2_SERVER_METADATA, {}),
        # one trailing slash routes as API Gateway routes it (issue 19.2): same route, same parameters
        ("GET", "/v1/models/", CATALOG, Operation.V1_CATALOG, {}),
        ("GET", "/v2/", CATALOG, Operation.V2_SERVER_METADATA, {}),
        ("GET", "/v2/models/digits/", "digits", Operation.V2_MODEL_METADATA, {}),
        ("POST", "/v2/models/minilm/versions/3/infer/", "minilm", Operation.V2_INFER, {}),
        ("GET", "/v2/models/minilm/versions/x.1/", "minilm", Operation.V2_MODEL_METADATA, {}),
    ],
)
def test_known_routes_match_with_their_parameters(
    method: str, path: str, compute: str, operation: Operation, parameters: dict[str, str]
) -> None:
    match = TABLE.match(method, path)
    assert match is not None
    assert match.compute == compute
    assert match.route.operation is operation
    assert match.path_parameters == parameters


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/models/unknown/predict"),
        ("GET", "/v1/models/minilm/predict"),  # wrong method: API Gateway's same 404
        ("POST", "/v1/models"),
        ("GET", "/v1/models//"),  # only one trailing slash is ignored
        ("GET", "/v2/models/"),  # a parameter is never empty
        ("GET", "/v2/models/minilm/versions/"),
        ("GET", "/v2/models/minilm/versions//ready"),
        ("GET", "/v2/models/minilm/versions/1/2/ready"),
        ("GET", "/"),
        ("GET", "/V1/MODELS"),
        # Only served versions are routes: anything else, however it is spelled, has no resource.
        ("POST", "/v2/models/minilm/versions/1/infer"),
        ("POST", "/v2/models/minilm/versions/3;route=v1-predict/infer"),
        ("GET", "/v2/models/minilm/versions/1;route=openapi"),
        ("GET", "/v2/models/digits/versions/\u00e9/ready"),
        ("POST", "/v2/models/digits/versions/1\n/infer"),
    ],
)
def test_unknown_paths_and_methods_do_not_match(method: str, path: str) -> None:
    assert TABLE.match(method, path) is None


def test_table_holds_every_route_of_every_model_and_the_catalog() -> None:
    expected = {
        (r.method, r.path) for name, versions in VERSIONS.items() for r in model_routes(name, versions=versions)
    }
    expected |= {(r.method, r.path) for r in CATALOG_ROUTES}
    assert {(route.method, route.path) for route, _ in TABLE.routes} == expected


def test_versioned_routes_carry_their_literal_version() -> None:
    match = TABLE.match("POST", "/v2/models/minilm/versions/x.1/infer")
    assert match is not None
    assert match.route.version == "x.1"
    assert all("{" not in route.path for route, _ in TABLE.routes)


def test_a_version_that_is_not_path_safe_is_refused() -> None:
    for version in ("1;route=v1-predict", "\u00e9", "1/2", "", "1\n"):
        with pytest.raises(ValueError, match="version"):
            model_routes("m", versions=[version])


def test_a_model_may_not_take_the_catalogs_name() -> None:
    with pytest.raises(ValueError, match="catalog"):
        RouteTable.for_models({"catalog": ["1"]})


@pytest.mark.parametrize("path", ["/v2/models", "/v2/models/digits/versions", "/v1"])
def test_resources_on_the_way_exist_with_or_without_a_trailing_slash(path: str) -> None:
    assert TABLE.has_resource(path)
    assert TABLE.has_resource(f"{path}/")
    assert not TABLE.has_resource(f"/nope{path}/")


def test_models_that_take_jobs_get_the_job_routes_on_the_jobs_function() -> None:
    from modelrail.local.routing import JOBS

    table = RouteTable.for_models(VERSIONS, jobs=["minilm"])
    submit = table.match("POST", "/v1/models/minilm/jobs")
    assert submit is not None
    assert (submit.compute, submit.route.operation) == (JOBS, Operation.V1_JOB_SUBMIT)
    status = table.match("GET", f"/v1/jobs/{'a' * 32}")
    assert status is not None
    assert (status.compute, status.path_parameters) == (JOBS, {"job_id": "a" * 32})
    cancel = table.match("DELETE", f"/v1/jobs/{'a' * 32}")
    assert cancel is not None
    assert cancel.route.operation is Operation.V1_JOB_CANCEL
    assert table.match("POST", "/v1/models/digits/jobs") is None  # no worker, no route: as in the stack
    assert TABLE.match("GET", f"/v1/jobs/{'a' * 32}") is None
    with pytest.raises(ValueError, match="jobs"):
        RouteTable.for_models({JOBS: ["1"]})
