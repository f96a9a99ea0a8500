"""The catalog's settings: the deployed models and the auth mode (``MODELRAIL_API_AUTH``).

The deployed models are a JSON list of ``modelrail.contract.catalog_entry`` entries::

    [{"name": "minilm", "version": "1", "task": "text-embedding", "target": "cpu"},
     {"name": "minilm-gpu", "version": "1", "task": "text-embedding", "target": "gpu", "endpoint": "<endpoint>"}]

The stack and local mode write it to the model bucket, ``s3://$MODELRAIL_CATALOG_BUCKET/$MODELRAIL_CATALOG_KEY``,
read once per cold start: a list in an environment variable would grow ~130 bytes per model against Lambda's 4 KB
for all of a function's variables ("Lambda quotas"). The key carries the list's revision, so a deploy that
changes it changes the function's configuration and no warm environment keeps an old list. ``MODELRAIL_CATALOG``
(the list itself) still works where no bucket is at hand, as when the handler runs on its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from modelrail import constants
from modelrail.contract.auth import AuthMode
from modelrail.contract.catalog_entry import CatalogEntry
from modelrail.errors import InternalError

API_AUTH_MODES = (*AuthMode, "none")


class CatalogConfigError(InternalError):
    """``MODELRAIL_CATALOG`` is missing or malformed: a deployment bug, reported as 500 naming the variable."""


def load_catalog(environ: Mapping[str, str]) -> list[CatalogEntry]:
    """The deployed models: the S3 object the environment names, else ``MODELRAIL_CATALOG``."""
    bucket, key = environ.get(constants.ENV_CATALOG_BUCKET), environ.get(constants.ENV_CATALOG_KEY)
    if not bucket or not key:
        return parse_catalog(environ.get(constants.ENV_CATALOG))
    where = f"s3://{bucket}/{key}"
    import boto3  # Lambda's Python runtime includes boto3; only this path needs it
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        body = boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise CatalogConfigError(f"the model list {where} could not be read: {code}") from None
    except BotoCoreError as exc:
        raise CatalogConfigError(f"the model list {where} could not be read: {exc}") from None
    return parse_catalog(body.decode("utf-8", "replace"), where=where)


def parse_catalog(text: str | None, *, where: str = f"env {constants.ENV_CATALOG}") -> list[CatalogEntry]:
    """Read the model list (``where`` names its source in errors)."""
    if not text:
        raise CatalogConfigError(f"{where} is not set; the stack must list the deployed models there")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogConfigError(f"{where} is not JSON: {exc}") from None
    if not isinstance(document, list):
        raise CatalogConfigError(f"{where} must be a JSON list of models")
    entries = []
    for index, item in enumerate(document):
        fields = ("name", "version", "task", "target")
        if not isinstance(item, dict) or not all(isinstance(item.get(key), str) for key in fields):
            raise CatalogConfigError(f"{where}[{index}] needs string fields {', '.join(fields)}")
        endpoint = item.get("endpoint")
        if endpoint is not None and not isinstance(endpoint, str):
            raise CatalogConfigError(f"{where}[{index}].endpoint must be a string")
        entries.append(CatalogEntry(item["name"], item["version"], item["task"], item["target"], endpoint))
    return entries


def read_auth(environ: Mapping[str, str]) -> str:
    """``MODELRAIL_API_AUTH`` (default ``api-key``): which security scheme ``/openapi.json`` documents."""
    auth = environ.get(constants.ENV_API_AUTH, AuthMode.API_KEY.value)
    if auth not in API_AUTH_MODES:
        raise CatalogConfigError(f"env {constants.ENV_API_AUTH}={auth!r}; use one of {', '.join(API_AUTH_MODES)}")
    return auth
