"""``modelrail push`` against moto's S3 server: upload, manifest last, verify, idempotence and refusals."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from modelrail.cli import main
from modelrail.constants import ENV_MANIFEST_SHA256
from modelrail.push import PushError, push_artifact
from modelrail.store.local_dir import load_local_dir
from tests.support.fake_aws import fake_credentials
from tests.support.serving_artifacts import manifest_sha256, tensor_artifact
from tests.support.serving_servers import moto_s3

MODEL_YAML = """name: tiny
version: "1"
task: tensor
source: {path: model.onnx}
quantization: {mode: none}
"""


@dataclass(frozen=True)
class S3:
    url: str
    bucket: str


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3]:
    fake_credentials(monkeypatch, unset=("AWS_PROFILE",))
    # moto's server keeps its state per process, so every test gets a bucket of its own.
    bucket = f"push-test-{uuid.uuid4().hex[:12]}"
    with moto_s3() as url:
        boto3.client("s3", endpoint_url=url).create_bucket(Bucket=bucket)
        yield S3(url, bucket)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    (tmp_path / "models" / "tiny" / "model.yaml").write_text(MODEL_YAML, encoding="utf-8")
    tensor_artifact(tmp_path / "build" / "tiny" / "1")
    return tmp_path


def push(repo: Path, s3: S3, *extra: str) -> int:
    return main(
        [
            "push",
            "--bucket",
            s3.bucket,
            "--endpoint-url",
            s3.url,
            "--models-dir",
            str(repo / "models"),
            "--build-dir",
            str(repo / "build"),
            *extra,
        ]
    )


def objects(s3: S3) -> dict[str, bytes]:
    client = boto3.client("s3", endpoint_url=s3.url)
    listed = client.list_objects_v2(Bucket=s3.bucket).get("Contents", [])
    return {item["Key"]: client.get_object(Bucket=s3.bucket, Key=item["Key"])["Body"].read() for item in listed}


def test_push_uploads_every_file_at_its_prefix_and_prints_the_pinned_sha(
    repo: Path, s3: S3, capsys: pytest.CaptureFixture[str]
) -> None:
    assert push(repo, s3) == 0
    artifact = repo / "build" / "tiny" / "1"
    stored = objects(s3)
    assert stored == {f"models/tiny/1/{p.name}": p.read_bytes() for p in artifact.iterdir()}
    out = capsys.readouterr()
    expected = f"tiny\t1\ts3://{s3.bucket}/models/tiny/1/\tuploaded\t{ENV_MANIFEST_SHA256}={manifest_sha256(artifact)}"
    assert out.out.strip() == expected
    assert "uploading model.onnx" in out.err


def test_manifest_is_uploaded_last(repo: Path, s3: S3) -> None:
    client = boto3.client("s3", endpoint_url=s3.url)
    keys: list[str] = []
    client.meta.events.register("provide-client-params.s3.PutObject", lambda params, **_: keys.append(params["Key"]))
    artifact = load_local_dir(repo / "build" / "tiny" / "1", manifest_sha256=None)
    pushed = push_artifact(client, bucket=s3.bucket, artifact=artifact)
    assert keys[-1] == "models/tiny/1/manifest.json"
    assert sorted(keys[:-1]) == ["models/tiny/1/model.onnx"]
    assert pushed.uploaded
    assert pushed.manifest_sha256 == manifest_sha256(repo / "build" / "tiny" / "1")


def test_pushing_the_same_artifact_again_changes_nothing(
    repo: Path, s3: S3, capsys: pytest.CaptureFixture[str]
) -> None:
    assert push(repo, s3) == 0
    capsys.readouterr()
    assert push(repo, s3) == 0
    out = capsys.readouterr()
    assert "\tunchanged\t" in out.out
    assert "uploading" not in out.err


def test_a_different_artifact_under_the_same_version_is_refused(
    repo: Path, s3: S3, capsys: pytest.CaptureFixture[str]
) -> None:
    assert push(repo, s3) == 0
    before = objects(s3)
    manifest_path = repo / "build" / "tiny" / "1" / "manifest.json"
    document = json.loads(manifest_path.read_text(encoding="utf-8"))
    document["built_at"] = "2030-01-01T00:00:00Z"
    manifest_path.write_text(json.dumps(document), encoding="utf-8")
    capsys.readouterr()
    assert push(repo, s3) == 1
    err = capsys.readouterr().err
    assert "already holds tiny version 1 with other bytes" in err
    assert "a version is immutable" in err
    assert "Set a new `version` in models/tiny/model.yaml" in err
    assert objects(s3) == before
    with pytest.raises(SystemExit):  # there is no option to replace a version
        push(repo, s3, "--force")
    assert objects(s3) == before


def racing_client(s3: S3, manifest: bytes) -> Any:
    """A client whose push loses the race: another push writes ``manifest`` between this one's check (no manifest
    yet) and its own manifest write."""
    client = boto3.client("s3", endpoint_url=s3.url)
    other = boto3.client("s3", endpoint_url=s3.url)

    def race(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].endswith("model.onnx"):
            other.put_object(Bucket=s3.bucket, Key="models/tiny/1/manifest.json", Body=manifest)

    client.meta.events.register("provide-client-params.s3.PutObject", race)
    return client


def test_a_version_created_by_another_push_meanwhile_is_not_overwritten(repo: Path, s3: S3) -> None:
    """The manifest is created only if absent (If-None-Match: *): a push that loses the race to create a version
    is refused when the winner pushed other bytes, and ends as a no-op when it pushed the same."""
    artifact = load_local_dir(repo / "build" / "tiny" / "1", manifest_sha256=None)
    winner = b'{"pushed": "by another push"}'
    with pytest.raises(PushError, match="already holds tiny version 1 with other bytes"):
        push_artifact(racing_client(s3, winner), bucket=s3.bucket, artifact=artifact)
    assert objects(s3)["models/tiny/1/manifest.json"] == winner

    boto3.client("s3", endpoint_url=s3.url).delete_object(Bucket=s3.bucket, Key="models/tiny/1/manifest.json")
    same = (repo / "build" / "tiny" / "1" / "manifest.json").read_bytes()
    pushed = push_artifact(racing_client(s3, same), bucket=s3.bucket, artifact=artifact)
    assert not pushed.uploaded
    assert objects(s3)["models/tiny/1/manifest.json"] == same


def test_every_served_version_is_pushed(repo: Path, s3: S3, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "models" / "tiny" / "model.yaml").write_text(
        MODEL_YAML.replace('"1"', '"2"') + "deploy:\n  releases: {served: ['1', '2'], live: '1'}\n", encoding="utf-8"
    )
    tensor_artifact(repo / "build" / "tiny" / "2", version="2")
    assert push(repo, s3) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[:2] for line in lines] == [["tiny", "1"], ["tiny", "2"]]
    stored = objects(s3)
    for version in ("1", "2"):
        assert (
            stored[f"models/tiny/{version}/manifest.json"]
            == (repo / "build" / "tiny" / version / "manifest.json").read_bytes()
        )


def test_an_older_served_version_that_is_not_built_names_the_way_out(
    repo: Path, s3: S3, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "models" / "tiny" / "model.yaml").write_text(
        MODEL_YAML + "deploy:\n  releases: {served: ['0', '1']}\n", encoding="utf-8"
    )
    assert push(repo, s3) == 1
    err = capsys.readouterr().err
    assert "served version 0 is not built" in err
    assert "remove it from `served`" in err
    assert objects(s3) == {}


def test_a_corrupt_local_artifact_is_never_uploaded(repo: Path, s3: S3, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "build" / "tiny" / "1" / "model.onnx").write_bytes(b"not the model that was built")
    assert push(repo, s3) == 1
    err = capsys.readouterr().err
    assert "model `tiny` version 1 is damaged: " in err
    assert "model.onnx has sha256" in err
    assert err.rstrip().endswith("run `modelrail build tiny`")
    assert objects(s3) == {}


def test_an_unbuilt_model_names_the_build_command(repo: Path, s3: S3, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "models" / "tiny" / "model.yaml").write_text(MODEL_YAML.replace('"1"', '"2"'), encoding="utf-8")
    assert push(repo, s3) == 1
    assert "run `modelrail build tiny`" in capsys.readouterr().err


def test_an_unknown_model_lists_the_known_ones(repo: Path, s3: S3, capsys: pytest.CaptureFixture[str]) -> None:
    assert push(repo, s3, "nope") == 1
    assert "known: tiny" in capsys.readouterr().err


def test_a_missing_bucket_is_a_clear_error(repo: Path, s3: S3, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            *("push", "--bucket", "no-such-bucket-x", "--endpoint-url", s3.url),
            *("--models-dir", str(repo / "models"), "--build-dir", str(repo / "build")),
        ]
    )
    assert code == 1
    assert "NoSuchBucket" in capsys.readouterr().err


def test_verification_catches_an_object_that_differs_in_the_bucket(repo: Path, s3: S3) -> None:
    assert push(repo, s3) == 0
    client = boto3.client("s3", endpoint_url=s3.url)
    client.put_object(Bucket=s3.bucket, Key="models/tiny/1/model.onnx", Body=b"tampered")
    artifact = load_local_dir(repo / "build" / "tiny" / "1", manifest_sha256=None)
    with pytest.raises(PushError) as caught:
        push_artifact(client, bucket=s3.bucket, artifact=artifact)
    assert "model.onnx reads back as sha256 " + hashlib.sha256(b"tampered").hexdigest() in str(caught.value)


def test_uploads_carry_their_sha256_for_s3_to_check(repo: Path, s3: S3) -> None:
    client = boto3.client("s3", endpoint_url=s3.url)
    sent: list[dict[str, Any]] = []
    client.meta.events.register("before-call.s3.PutObject", lambda params, **_: sent.append(params))
    artifact = load_local_dir(repo / "build" / "tiny" / "1", manifest_sha256=None)
    push_artifact(client, bucket=s3.bucket, artifact=artifact)
    assert all(params["headers"].get("x-amz-checksum-sha256") for params in sent)
