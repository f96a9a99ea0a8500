"""Names shared by the code that sets them (CDK stacks, local mode) and the code that reads them (runtime).

Keep every environment variable name and artifact path convention here so the two sides cannot drift.
"""

from typing import Final

# --- Environment variables a serving process reads -------------------------------------------------
ENV_MODEL_NAME: Final = "MODELRAIL_MODEL_NAME"
"""Name of the model this function serves (``models/<name>``)."""
ENV_MODEL_VERSION: Final = "MODELRAIL_MODEL_VERSION"
"""Version of the model this function serves on its unversioned routes (its default version)."""
ENV_MODEL_BUCKET: Final = "MODELRAIL_MODEL_BUCKET"
"""S3 bucket holding the built artifacts (cloud and local mode)."""
ENV_MODEL_PREFIX: Final = "MODELRAIL_MODEL_PREFIX"
"""S3 key prefix of the artifact directory, ``models/<name>/<version>/`` (see ``artifact_prefix``)."""
ENV_MANIFEST_SHA256: Final = "MODELRAIL_MANIFEST_SHA256"
"""sha256 of the artifact's ``manifest.json``; the manifest in turn pins the sha256 of every other file."""
ENV_SERVED_VERSIONS: Final = "MODELRAIL_SERVED_VERSIONS"
"""JSON object of every model version this function serves on its pinned routes, default version included:
``{"<version>": {"prefix": "models/<name>/<version>/", "manifest_sha256": "<hex>"}, ...}``. The default version
(``MODELRAIL_MODEL_VERSION``, what unversioned routes answer) is loaded at start; any other on its first pinned
request, each verified against its own sha256. Unset: the default version alone."""
ENV_MODEL_DIR: Final = "MODELRAIL_MODEL_DIR"
"""A local directory holding one built artifact; used instead of S3 (tests, SageMaker's /opt/ml/model)."""
ENV_CACHE_DIR: Final = "MODELRAIL_CACHE_DIR"
"""Where S3 artifacts are downloaded to; on Lambda only /tmp is writable."""
ENV_INTRA_OP_THREADS: Final = "MODELRAIL_INTRA_OP_THREADS"
"""ONNX Runtime intra-op threads; defaults to the vCPUs the function has, not the host's cores."""
ENV_INTER_OP_THREADS: Final = "MODELRAIL_INTER_OP_THREADS"
"""ONNX Runtime inter-op threads."""
ENV_PROVIDERS: Final = "MODELRAIL_PROVIDERS"
"""Comma-separated ONNX Runtime execution providers in preference order."""
ENV_REQUIRE_CUDA: Final = "MODELRAIL_REQUIRE_CUDA"
"""``true``: a CUDA provider that cannot start is a load failure (SageMaker's ``/ping`` answers 503, so a deployment
fails and rolls back) instead of serving on the CPU provider. The stack sets it on every SageMaker variant unless
the manifest opts in to ``cpu_fallback``; unset (local mode, tests) the CPU provider takes over as before."""
ENV_LOG_LEVEL: Final = "MODELRAIL_LOG_LEVEL"
ENV_METRICS_NAMESPACE: Final = "MODELRAIL_METRICS_NAMESPACE"
"""CloudWatch namespace of the EMF metrics the runtime emits."""
ENV_CATALOG: Final = "MODELRAIL_CATALOG"
ENV_CATALOG_BUCKET: Final = "MODELRAIL_CATALOG_BUCKET"
ENV_CATALOG_KEY: Final = "MODELRAIL_CATALOG_KEY"
CATALOG_KEY_PREFIX: Final = "catalog/"
"""Where the deployed-model list lives in the model bucket (``catalog/models-<revision>.json``)."""
"""JSON list of the deployed models, for the catalog function behind ``GET /v1/models``."""
ENV_API_AUTH: Final = "MODELRAIL_API_AUTH"
"""How the API authenticates callers (``api-key``, ``iam`` or ``none``); the catalog documents it in /openapi.json."""
ENV_CORS_ORIGIN: Final = "MODELRAIL_CORS_ORIGIN"
"""The one origin browsers may call the API from (the stack's ``cors_origin``): every answer carries it in
``Access-Control-Allow-Origin``. Unset: CORS off, no such header."""
CORS_ALLOW_ORIGIN_HEADER: Final = "Access-Control-Allow-Origin"
CORS_EXPOSE_HEADERS_HEADER: Final = "Access-Control-Expose-Headers"
MODEL_VERSION_HEADER: Final = "X-Modelrail-Model-Version"
"""Response header naming the model version that produced an answer (also in the body: OIP ``model_version``,
task API ``version``); with CORS on, browsers may read it (``Access-Control-Expose-Headers``)."""
ENV_API_BASE_PATH: Final = "MODELRAIL_API_BASE_PATH"
"""The base path of the custom domain's mapping to this API (the stack's ``base_path`` context, e.g. ``prod``):
requests through that domain arrive with ``path`` = ``/prod/v1/...`` and the functions strip it. Unset: none."""
ENV_MAX_REQUEST_BYTES: Final = "MODELRAIL_MAX_REQUEST_BYTES"
"""Largest request body the function accepts before answering 413."""
ENV_FUNCTION_TIMEOUT_S: Final = "MODELRAIL_FUNCTION_TIMEOUT_S"
"""The function's timeout in seconds (Lambda does not tell a function its own): the model fetch's deadline is
derived from it, so a slow S3 is a 503 before the function times out."""
ENV_FETCH_BUDGET_S: Final = "MODELRAIL_FETCH_BUDGET_S"
"""Optional: seconds one request may spend fetching the model, instead of the one derived from the timeout."""
ENV_S3_ENDPOINT_URL: Final = "AWS_ENDPOINT_URL_S3"
"""boto3's own variable for an S3-compatible endpoint; local mode points it at the embedded server."""

# --- Environment variables Lambda itself sets (local mode sets them the same way) -------------------
ENV_LAMBDA_FUNCTION_NAME: Final = "AWS_LAMBDA_FUNCTION_NAME"
"""Its presence means the process runs on Lambda."""
ENV_LAMBDA_FUNCTION_MEMORY_SIZE: Final = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
"""The function's memory in MB, which fixes its vCPU share."""
ENV_LAMBDA_FUNCTION_VERSION: Final = "AWS_LAMBDA_FUNCTION_VERSION"
ENV_LAMBDA_LOG_GROUP_NAME: Final = "AWS_LAMBDA_LOG_GROUP_NAME"
ENV_LAMBDA_EXECUTION_ENV: Final = "AWS_EXECUTION_ENV"
ENV_LAMBDA_TASK_ROOT: Final = "LAMBDA_TASK_ROOT"
ENV_LAMBDA_INITIALIZATION_TYPE: Final = "AWS_LAMBDA_INITIALIZATION_TYPE"
"""How Lambda initializes this environment (``on-demand``, ``provisioned-concurrency``, ``snap-start``)."""
SNAP_START_INITIALIZATION: Final = "snap-start"
"""Its value during a SnapStart function's init: the Python runtime interface client runs the SnapStart hooks only
then (aws/aws-lambda-python-runtime-interface-client, ``awslambdaric/bootstrap.py``: ``INIT_TYPE_SNAP_START``)."""

# --- Defaults ----------------------------------------------------------------------------------------
DEFAULT_CACHE_DIR: Final = "/tmp/modelrail"  # noqa: S108  # nosec B108 # Lambda's only writable path; files are sha256-verified
DEFAULT_METRICS_NAMESPACE: Final = "modelrail"
LAMBDA_MAX_REQUEST_BYTES: Final = 6 * 1024 * 1024
"""Lambda's synchronous invocation payload limit."""
API_GATEWAY_MAX_REQUEST_BYTES: Final = 10 * 1024 * 1024
"""API Gateway REST API payload limit."""
API_KEY_HEADER: Final = "x-api-key"
"""Header API Gateway reads the API key from; local mode enforces the same one."""

# --- Artifact layout ---------------------------------------------------------------------------------
MODELS_DIR: Final = "models"
"""Folder of model sources, one sub-folder per model holding ``model.yaml``."""
MANIFEST_YAML: Final = "model.yaml"
BUILD_DIR: Final = "build/models"
"""Where ``modelrail build`` writes artifacts: ``build/models/<name>/<version>/``."""
SOURCES_DIR: Final = "build/sources"
"""Source outputs (fp32 model, assets, datasets) that ``modelrail build`` keeps: ``build/sources/<name>/``."""
MANIFEST_JSON: Final = "manifest.json"
"""The built artifact's resolved manifest: tensor specs and the sha256 + size of every other file."""
REPORT_JSON: Final = "report.json"
"""The build report: sizes, latency, gate metrics and thresholds."""
MODEL_FILE: Final = "model.onnx"
"""The served model inside an artifact directory."""
MODEL_DATA_FILE: Final = "model.onnx.data"
"""A pre-optimized CPU model's weights, beside ``model.onnx`` as ONNX external data (ONNX Runtime maps the file
into memory instead of parsing and copying the weights out of the graph's protobuf)."""

# --- SageMaker container contract --------------------------------------------------------------------
SAGEMAKER_MODEL_DIR: Final = "/opt/ml/model"
SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER: Final = "X-Amzn-SageMaker-Custom-Attributes"
"""API Gateway sets ``route=<name>`` here so ``/invocations`` knows which API operation a body is for."""


def artifact_prefix(name: str, version: str) -> str:
    """S3 key prefix of one built artifact (always ends with a slash)."""
    return f"{MODELS_DIR}/{name}/{version}/"
