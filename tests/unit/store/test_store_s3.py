"""S3 model store against moto's in-process S3: verification, retries, and never caching a bad file."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from modelrail.errors import ModelUnavailableError
from modelrail.store import ArtifactIntegrityError, RetryPolicy, S3ArtifactSource
from modelrail.store.s3 import make_s3_client
from tests.support.fake_aws import fake_credentials
from tests.support.serving_artifacts import manifest_sha256, tensor_artifact

BUCKET = "models-bucket"
PREFIX = "models/tiny/1/"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_credentials(monkeypatch)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        client = make_s3_client()  # the store's own client: botocore's retries off, ours on
        yield client


@pytest.fixture
def artifact(tmp_path: Path, s3: Any) -> Path:
    directory = tensor_artifact(tmp_path / "artifact")
    upload(s3, directory)
    return directory


def upload(s3: Any, directory: Path) -> None:
    for path in directory.iterdir():
        s3.put_object(Bucket=BUCKET, Key=PREFIX + path.name, Body=path.read_bytes())


class Sleeps:
    """Records backoff sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def source(
    s3: Any, artifact: Path, cache: Path, *, sleeps: Sleeps | None = None, sha: str | None = None
) -> S3ArtifactSource:
    return S3ArtifactSource(
        bucket=BUCKET,
        prefix=PREFIX,
        manifest_sha256=sha or manifest_sha256(artifact),
        cache_dir=cache,
        client=s3,
        retry=RetryPolicy(sleep=sleeps or Sleeps()),
    )


def get_object_calls(s3: Any) -> list[str]:
    keys: list[str] = []
    s3.meta.events.register("before-parameter-build.s3.GetObject", lambda params, **_: keys.append(params["Key"]))
    return keys


def test_fetch_downloads_and_verifies_every_file(s3: Any, artifact: Path, tmp_path: Path) -> None:
    fetched = source(s3, artifact, tmp_path / "cache").fetch()

    assert fetched.directory == tmp_path / "cache" / manifest_sha256(artifact)
    for name in ("manifest.json", "model.onnx"):
        assert (fetched.directory / name).read_bytes() == (artifact / name).read_bytes()
    assert fetched.manifest.name == "tiny"
    assert fetched.location == f"s3://{BUCKET}/{PREFIX}"


def test_checksum_mismatch_refuses_and_caches_nothing(s3: Any, artifact: Path, tmp_path: Path) -> None:
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "model.onnx", Body=b"not the model that was built")
    cache = tmp_path / "cache"

    with pytest.raises(ArtifactIntegrityError) as caught:
        source(s3, artifact, cache).fetch()

    assert caught.value.status == 503
    assert caught.value.code == "model_unavailable"
    assert f"s3://{BUCKET}/{PREFIX}model.onnx has sha256" in caught.value.message
    assert not (cache / manifest_sha256(artifact) / "model.onnx").exists()
    assert [p.name for p in (cache / manifest_sha256(artifact)).iterdir()] == []  # no partial file either

    upload(s3, artifact)  # the right object is back: the next load tries again and succeeds
    fetched = source(s3, artifact, cache).fetch()
    assert (fetched.directory / "model.onnx").read_bytes() == (artifact / "model.onnx").read_bytes()


def test_manifest_that_differs_from_the_pinned_sha256_is_refused(s3: Any, artifact: Path, tmp_path: Path) -> None:
    with pytest.raises(ArtifactIntegrityError, match="MODELRAIL_MANIFEST_SHA256"):
        source(s3, artifact, tmp_path / "cache", sha="0" * 64).fetch()
    assert not (tmp_path / "cache").exists()


def test_transient_errors_are_retried_with_backoff_then_succeed(s3: Any, artifact: Path, tmp_path: Path) -> None:
    failures = {"left": 2}

    def slow_down(request: Any, **_: Any) -> AWSResponse | None:
        if request.url.endswith("model.onnx") and failures["left"] > 0:
            failures["left"] -= 1
            body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            return AWSResponse(request.url, 503, {"Content-Type": "application/xml"}, _Raw(body))
        return None

    s3.meta.events.register_first("before-send.s3.GetObject", slow_down)
    sleeps = Sleeps()

    fetched = source(s3, artifact, tmp_path / "cache", sleeps=sleeps).fetch()

    assert (fetched.directory / "model.onnx").read_bytes() == (artifact / "model.onnx").read_bytes()
    assert len(sleeps.delays) == 2
    assert 0 <= sleeps.delays[0] <= 0.2
    assert 0 <= sleeps.delays[1] <= 0.4  # the cap doubles each attempt; full jitter picks below it


def test_retries_give_up_with_a_clear_error(s3: Any, artifact: Path, tmp_path: Path) -> None:
    def always_500(request: Any, **_: Any) -> AWSResponse:
        body = b"<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"
        return AWSResponse(request.url, 500, {}, _Raw(body))

    s3.meta.events.register_first("before-send.s3.GetObject", always_500)
    sleeps = Sleeps()

    with pytest.raises(ModelUnavailableError) as caught:
        source(s3, artifact, tmp_path / "cache", sleeps=sleeps).fetch()

    assert "could not be fetched after 4 attempts: InternalError (HTTP 500)" in caught.value.message
    assert len(sleeps.delays) == 3
    assert caught.value.retry_after_s is not None


def test_missing_object_is_a_clear_error_without_retries(s3: Any, artifact: Path, tmp_path: Path) -> None:
    s3.delete_object(Bucket=BUCKET, Key=PREFIX + "model.onnx")
    sleeps = Sleeps()

    with pytest.raises(ModelUnavailableError) as caught:
        source(s3, artifact, tmp_path / "cache", sleeps=sleeps).fetch()

    assert caught.value.message.startswith(f"s3://{BUCKET}/{PREFIX}model.onnx does not exist")
    assert "modelrail push" in caught.value.message
    assert sleeps.delays == []


def test_missing_bucket_names_the_setting_to_fix(s3: Any, artifact: Path, tmp_path: Path) -> None:
    missing = S3ArtifactSource(
        bucket="no-such-bucket", prefix=PREFIX, manifest_sha256="0" * 64, cache_dir=tmp_path, client=s3
    )
    with pytest.raises(ModelUnavailableError, match="MODELRAIL_MODEL_BUCKET"):
        missing.fetch()


def test_verified_cached_files_are_reused_and_a_corrupted_copy_is_replaced(
    s3: Any, artifact: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    first = source(s3, artifact, cache).fetch()
    keys = get_object_calls(s3)

    source(s3, artifact, cache).fetch()
    assert keys == [PREFIX + "manifest.json"]  # model.onnx came from the cache

    (first.directory / "model.onnx").write_bytes(b"corrupted on disk")
    keys.clear()
    again = source(s3, artifact, cache).fetch()
    assert PREFIX + "model.onnx" in keys
    assert (again.directory / "model.onnx").read_bytes() == (artifact / "model.onnx").read_bytes()


class _Raw:
    """The minimal raw-stream interface botocore reads an HTTP error body through."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def test_large_files_take_the_ranged_download_path_with_the_same_checks(
    s3: Any, artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelrail.store.s3 as s3_module

    monkeypatch.setattr(s3_module, "RANGED_DOWNLOAD_BYTES", 1)  # every file counts as large
    fetched = source(s3, artifact, tmp_path / "cache").fetch()
    assert (fetched.directory / "model.onnx").read_bytes() == (artifact / "model.onnx").read_bytes()

    s3.put_object(Bucket=BUCKET, Key=PREFIX + "model.onnx", Body=b"tampered")
    with pytest.raises(ArtifactIntegrityError, match=r"model\.onnx has sha256"):
        source(s3, artifact, tmp_path / "other-cache").fetch()
    assert not (tmp_path / "other-cache" / manifest_sha256(artifact) / "model.onnx").exists()


def ranged_calls(s3: Any) -> list[str]:
    ranges: list[str] = []
    s3.meta.events.register(
        "before-parameter-build.s3.GetObject",
        lambda params, **_: ranges.append(params["Range"]) if "Range" in params else None,
    )
    return ranges


def test_ranged_parts_land_at_their_offsets(
    s3: Any, artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import modelrail.store.s3 as s3_module

    monkeypatch.setattr(s3_module, "RANGED_DOWNLOAD_BYTES", 1)
    monkeypatch.setattr(s3_module, "RANGE_PART_BYTES", 7)  # many parts, the last one short
    ranges = ranged_calls(s3)

    fetched = source(s3, artifact, tmp_path / "cache").fetch()

    model = (artifact / "model.onnx").read_bytes()
    assert (fetched.directory / "model.onnx").read_bytes() == model
    assert "bytes=0-6" in ranges
    assert f"bytes={(len(model) - 1) // 7 * 7}-{len(model) - 1}" in ranges  # the size came from the manifest


@pytest.mark.parametrize("change", ["longer", "shorter"])
def test_an_object_of_another_size_is_refused_on_the_ranged_path(
    s3: Any, artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    import modelrail.store.s3 as s3_module

    monkeypatch.setattr(s3_module, "RANGED_DOWNLOAD_BYTES", 1)
    monkeypatch.setattr(s3_module, "RANGE_PART_BYTES", 16)
    model = (artifact / "model.onnx").read_bytes()
    stored = model + b"appended" if change == "longer" else model[:20]
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "model.onnx", Body=stored)
    cache = tmp_path / "cache"

    with pytest.raises(ArtifactIntegrityError) as caught:
        source(s3, artifact, cache).fetch()

    assert f"model.onnx has sha256 {hashlib.sha256(stored).hexdigest()} and {len(stored)} bytes" in (
        caught.value.message
    )
    assert [p.name for p in (cache / manifest_sha256(artifact)).iterdir()] == []
