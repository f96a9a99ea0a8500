"""The catalog's settings: the deployed models (``MODELRAIL_CATALOG``) and the auth mode (``MODELRAIL_API_AUTH``).

``MODELRAIL_CATALOG`` is a JSON list of ``modelrail.contract.catalog_entry`` entries, written by the stack and
by local mode::

    [{"name": "minilm", "version": "1", "task": "text-embedding", "target": "cpu"},
     {"name": "minilm-gpu", "version": "1", "task": "text-embedding", "target": "gpu", "endpoint": "<endpoint>"}]
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


def parse_catalog(text: str | None) -> list[CatalogEntry]:
    """Read ``MODELRAIL_CATALOG``."""
    where = f"env {constants.ENV_CATALOG}"
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
