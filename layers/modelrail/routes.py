"""The public HTTP API as a table: which routes exist and which compute answers each.

API Gateway (``infra/``) and the local gateway (``modelrail local up``) are both built from this table, so
the cloud and local mode expose the same routes. Each route has an ``operation`` name; for GPU models
API Gateway passes it to the SageMaker container as ``X-Amzn-SageMaker-Custom-Attributes: route=<operation>``
because every call there arrives as ``POST /invocations``.

Versioned routes carry the literal served version (``/v2/models/x/versions/1/infer``), never a ``{version}``
path parameter: a version that is not served has no resource (404 from the gateway itself), and no request
value ever reaches the custom-attributes header, a mapping template or a log line as a version.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Operation(StrEnum):
    """An API operation; the value is also what ``route=`` carries to a SageMaker container."""

    V1_PREDICT = "v1-predict"
    V2_MODEL_METADATA = "v2-model-metadata"
    V2_MODEL_READY = "v2-model-ready"
    V2_INFER = "v2-infer"
    V1_CATALOG = "v1-catalog"
    V2_HEALTH_LIVE = "v2-health-live"
    V2_HEALTH_READY = "v2-health-ready"
    V2_SERVER_METADATA = "v2-server-metadata"
    OPENAPI = "openapi"
    V1_JOB_SUBMIT = "v1-job-submit"
    V1_JOB_STATUS = "v1-job-status"
    V1_JOB_CANCEL = "v1-job-cancel"


SERVED_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
"""What a served version may look like (the manifest's ``version`` pattern): safe in a path segment, a
header value, a VTL string and an S3 key as it is."""
VERSION_PARAMETER = "{version}"
"""The path parameter of the serving app's own versioned routes, which check the version themselves."""


@dataclass(frozen=True)
class Route:
    """One method + path template (API Gateway resource syntax: ``{param}``)."""

    method: str
    path: str
    operation: Operation
    version: str | None = None
    """The literal version a versioned route serves; ``None`` on unversioned routes and the app's templates."""


def _model_routes(name: str, versions: Sequence[tuple[str, str | None]]) -> list[Route]:
    base = f"/v2/models/{name}"
    routes = [Route("POST", f"/v1/models/{name}/predict", Operation.V1_PREDICT)]
    for prefix, version in ((base, None), *((f"{base}/versions/{segment}", v) for segment, v in versions)):
        routes += [
            Route("GET", prefix, Operation.V2_MODEL_METADATA, version),
            Route("GET", f"{prefix}/ready", Operation.V2_MODEL_READY, version),
            Route("POST", f"{prefix}/infer", Operation.V2_INFER, version),
        ]
    return routes


def model_routes(name: str, *, versions: Sequence[str]) -> list[Route]:
    """Routes a single model's compute (its Lambda function or SageMaker endpoint) answers.

    ``versions`` are the served versions: each gets its own literal ``/versions/<v>`` routes, so a gateway
    built from this table has no resource at all for any other version.
    """
    for version in versions:
        if not SERVED_VERSION.fullmatch(version):
            raise ValueError(f"model {name}: version {version!r} does not match {SERVED_VERSION.pattern}")
    return _model_routes(name, [(version, version) for version in dict.fromkeys(versions)])


def app_routes() -> list[Route]:
    """The serving app's templates (``{name}``, ``{version}`` parameters): one app serves whichever model it is
    given, and answers 404 itself for another name or version."""
    return _model_routes("{name}", [(VERSION_PARAMETER, None)])


CATALOG_ROUTES: tuple[Route, ...] = (
    Route("GET", "/v2", Operation.V2_SERVER_METADATA),
    Route("GET", "/v1/models", Operation.V1_CATALOG),
    Route("GET", "/v2/health/live", Operation.V2_HEALTH_LIVE),
    Route("GET", "/v2/health/ready", Operation.V2_HEALTH_READY),
    Route("GET", "/openapi.json", Operation.OPENAPI),
)
"""Routes answered by the catalog, not by any one model."""

JOB_ID_PARAMETER = "{job_id}"
JOB_ROUTES: tuple[Route, ...] = (
    Route("GET", f"/v1/jobs/{JOB_ID_PARAMETER}", Operation.V1_JOB_STATUS),
    Route("DELETE", f"/v1/jobs/{JOB_ID_PARAMETER}", Operation.V1_JOB_CANCEL),
)
"""Routes of the jobs function that belong to no one model (``modelrail.contract.jobs``)."""


def job_submit_route(name: str) -> Route:
    """``POST /v1/models/<name>/jobs``: answered by the jobs function, for a model that has a job worker."""
    return Route("POST", f"/v1/models/{name}/jobs", Operation.V1_JOB_SUBMIT)


def route_path(path: str) -> str:
    """The path a request is routed on: the same with or without one trailing slash, as API Gateway routes it.

    API Gateway (REST and HTTP APIs) sends ``GET /v2/models/digits/`` to the ``/v2/models/digits`` resource but
    keeps the slash in the event's ``path``, as the maintainers of aws-powertools found by deploying both
    (aws-powertools/powertools-lambda-python#1552, and their ``apiGatewayProxyEventPathTrailingSlash.json``).
    The app, the catalog and the local gateway all route through this, so none answers 404 or a 307 redirect
    for a path API Gateway accepted.
    """
    return path[:-1] if len(path) > 1 and path.endswith("/") else path


_BASE_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+")


class BasePathError(ValueError):
    """A custom domain's base path that cannot be served; the message says why."""


def normalize_base_path(value: str | None) -> str | None:
    """A custom domain's base path mapping as ``/segment[/segment]`` (``None`` for none), or ``BasePathError``.

    With a base path mapping, API Gateway routes ``https://<domain>/<base>/v1/...`` to the ``/v1/...`` resource
    (docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-mappings.html: "API Gateway strips the
    incoming base path"), but the Lambda proxy event's ``path`` still starts with ``/<base>``, so the function
    strips it too (Mangum's ``api_gateway_base_path``). A base path that is a prefix of one of our own paths
    (``v1``, ``v2``, ``openapi.json``) is refused: a request through the API's own URL, which has no base
    path, would lose its first segment.
    """
    if value is None or value.strip("/ ") == "":
        return None
    stripped = value.strip().strip("/")
    if not all(_BASE_PATH_SEGMENT.fullmatch(part) for part in stripped.split("/")):
        raise BasePathError(
            f"base path {value!r}: use segments of letters, digits and . _ ~ - separated by /, e.g. `prod/api`"
        )
    base = f"/{stripped}"
    for route in (*app_routes(), *CATALOG_ROUTES):
        if route.path.startswith(base):
            raise BasePathError(
                f"base path {value!r} is a prefix of the API's own path {route.path}; pick another, e.g. `api`"
            )
    return base


CUSTOM_ATTRIBUTE_ROUTE = "route"
CUSTOM_ATTRIBUTE_VERSION = "version"
CUSTOM_ATTRIBUTE_BODY = "body"
BASE64_BODY = "base64"
"""``body=base64``: API Gateway base64-encoded the caller's bytes (``contentHandling: CONVERT_TO_TEXT``)."""


def custom_attributes(operation: Operation, *, version: str | None = None, body: str | None = None) -> str:
    """The ``X-Amzn-SageMaker-Custom-Attributes`` value API Gateway sends for one operation.

    Versioned routes add ``;version=<v>`` (the route's own literal version, a static value in the template) so
    the container still answers 404 for a version it does not serve, as the Lambda function does; ``body``
    says how the body is encoded.
    """
    if version is not None and not SERVED_VERSION.fullmatch(version):
        raise ValueError(f"version {version!r} does not match {SERVED_VERSION.pattern}")
    value = f"{CUSTOM_ATTRIBUTE_ROUTE}={operation.value}"
    if version is not None:
        value = f"{value};{CUSTOM_ATTRIBUTE_VERSION}={version}"
    return value if body is None else f"{value};{CUSTOM_ATTRIBUTE_BODY}={body}"


def _fields(value: str | None) -> dict[str, str]:
    return dict(part.strip().partition("=")[::2] for part in (value or "").split(";") if "=" in part)


def body_encoding(value: str | None) -> str | None:
    """The ``body=`` field of the header (``base64``), or ``None`` for raw bytes."""
    return _fields(value).get(CUSTOM_ATTRIBUTE_BODY) or None


def parse_custom_attributes(value: str | None) -> tuple[Operation | None, str | None]:
    """Read ``(operation, version)`` back from the header; unknown keys are ignored, missing ones are ``None``."""
    fields = _fields(value)
    route = fields.get(CUSTOM_ATTRIBUTE_ROUTE)
    operation = Operation(route) if route in {op.value for op in Operation} else None
    return operation, fields.get(CUSTOM_ATTRIBUTE_VERSION) or None
