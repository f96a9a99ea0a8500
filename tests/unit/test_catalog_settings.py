"""Where the catalog finds the deployed models: the object the stack (and local mode) put in the model bucket."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from modelrail.catalog.settings import CatalogConfigError, load_catalog
from modelrail.constants import ENV_CATALOG, ENV_CATALOG_BUCKET, ENV_CATALOG_KEY
from modelrail.contract import functions
from modelrail.contract.auth import AuthMode
from modelrail.contract.catalog_entry import CatalogEntry
from tests.support.fake_aws import fake_credentials

BUCKET = "modelrail-models"
LISTED = [
    {"name": "minilm", "version": "1", "task": "text-embedding", "target": "cpu"},
    {"name": "minilm-gpu", "version": "2", "task": "text-embedding", "target": "gpu", "endpoint": "ep-1"},
]


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    fake_credentials(monkeypatch)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield


def test_the_list_is_read_from_the_key_the_environment_names(bucket: None) -> None:
    key = functions.catalog_key(functions.catalog_revision(LISTED))
    boto3.client("s3").put_object(Bucket=BUCKET, Key=key, Body=json.dumps(LISTED).encode())
    env = functions.catalog_env(bucket=BUCKET, key=key, auth=AuthMode.API_KEY)
    assert ENV_CATALOG not in env
    assert load_catalog(env) == [
        CatalogEntry("minilm", "1", "text-embedding", "cpu"),
        CatalogEntry("minilm-gpu", "2", "text-embedding", "gpu", endpoint="ep-1"),
    ]


def test_a_missing_list_is_a_500_naming_the_object(bucket: None) -> None:
    env = {ENV_CATALOG_BUCKET: BUCKET, ENV_CATALOG_KEY: "catalog/models-0.json"}
    with pytest.raises(CatalogConfigError, match=r"s3://modelrail-models/catalog/models-0\.json could not be read"):
        load_catalog(env)


def test_a_malformed_list_names_the_object(bucket: None) -> None:
    boto3.client("s3").put_object(Bucket=BUCKET, Key="catalog/models-1.json", Body=b"{not json")
    env = {ENV_CATALOG_BUCKET: BUCKET, ENV_CATALOG_KEY: "catalog/models-1.json"}
    with pytest.raises(CatalogConfigError, match=r"s3://modelrail-models/catalog/models-1\.json is not JSON"):
        load_catalog(env)


def test_the_key_changes_whenever_the_list_does() -> None:
    first = functions.catalog_key(functions.catalog_revision(LISTED))
    assert first.startswith("catalog/models-")
    assert first == functions.catalog_key(functions.catalog_revision(list(LISTED)))
    assert first != functions.catalog_key(functions.catalog_revision(LISTED[:1]))
