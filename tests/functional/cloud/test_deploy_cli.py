"""``modelrail deploy`` with a fake cdk that records its arguments and "deploys" into moto's server: what is stale
is built first, the pinned CLI runs with the stage's context in the repository root, and the URL, the API key's
value (read back through API Gateway) and a curl line are printed. Without credentials nothing runs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from modelrail.cli import main
from modelrail.manifest import load_manifest
from modelrail.store.current import current_artifact
from tests.support.serving_artifacts import tensor_artifact

TINY_YAML = 'name: tiny\nversion: "1"\ntask: tensor\nsource: {path: model.onnx}\nquantization: {mode: none}\n'

FAKE_CDK = """#!{python}
# A stand-in for the aws-cdk CLI: records how it was run, prints progress, and creates the stack (with the
# outputs the real stack has) in the moto server the environment points at.
import json, os, sys
import boto3

with open(os.environ["FAKE_CDK_RECORD"], "w") as record:
    json.dump({{"argv": sys.argv[1:], "cwd": os.getcwd(), "region": os.environ.get("AWS_REGION")}}, record)
print("fake-cdk: deploying " + sys.argv[2], flush=True)
if os.environ.get("FAKE_CDK_EXIT"):
    sys.exit(int(os.environ["FAKE_CDK_EXIT"]))
stage = next(arg for arg in sys.argv if arg.startswith("stage=")).split("=", 1)[1]
outputs = {{"ApiUrl": {{"Value": "https://abc123.execute-api.us-east-1.amazonaws.com/" + stage + "/"}}}}
if os.environ.get("FAKE_CDK_AUTH") != "iam":
    key = boto3.client("apigateway").create_api_key(name="modelrail-" + stage, enabled=True)
    outputs["ApiKeyId"] = {{"Value": key["id"]}}
template = {{"Resources": {{"Topic": {{"Type": "AWS::SNS::Topic"}}}}, "Outputs": outputs}}
boto3.client("cloudformation").create_stack(StackName=sys.argv[2], TemplateBody=json.dumps(template))
print("fake-cdk: done", flush=True)
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root: cdk.json, one built model (tiny), the working directory set to it."""
    root = tmp_path / "repo"
    (root / "models" / "tiny").mkdir(parents=True)
    (root / "models" / "tiny" / "model.yaml").write_text(TINY_YAML, encoding="utf-8")
    tensor_artifact(root / "build" / "models" / "tiny" / "1")
    (root / "cdk.json").write_text(json.dumps({"app": "true", "context": {"stage": "dev"}}), encoding="utf-8")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def fake_cdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `cdk` on PATH; returns the file it records its run in."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "cdk"
    script.write_text(FAKE_CDK.format(python=sys.executable), encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    record = tmp_path / "cdk-run.json"
    monkeypatch.setenv("FAKE_CDK_RECORD", str(record))
    return record


def recorded(record: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
    return data


def test_deploy_runs_cdk_with_the_stage_context_and_prints_url_key_and_curl(
    repo: Path, fake_cdk: Path, moto_server: str, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--stage", "qa", "--", "--require-approval", "never"]) == 0
    run = recorded(fake_cdk)
    assert run["argv"] == [
        "deploy",
        "modelrail-qa",
        *("--context", "stage=qa"),
        *("--context", "models=all"),
        *("--context", "gpu_models=false"),
        *("--require-approval", "never"),
    ]
    assert Path(run["cwd"]) == repo
    assert run["region"] == "us-east-1"
    out, err = capfd.readouterr()
    (key,) = boto3.client("apigateway", endpoint_url=moto_server).get_api_keys(includeValues=True)["items"]
    assert "fake-cdk: deploying modelrail-qa" in out  # cdk's own output reached the terminal as it ran
    assert out.index("fake-cdk: done") < out.index("API URL:")
    assert "API URL: https://abc123.execute-api.us-east-1.amazonaws.com/qa/" in out
    assert f"API key: {key['value']}" in out
    assert f"curl -H 'x-api-key: {key['value']}' https://abc123.execute-api.us-east-1.amazonaws.com/qa/v1/models" in out
    assert "modelrail predict tiny '{\"input\": [0.0]}' --stage qa" in out
    assert "account 123456789012 in us-east-1" in err


def test_the_stage_defaults_to_cdk_json_and_a_pinned_cli_wins_over_path(
    repo: Path, fake_cdk: Path, moto_server: str, tmp_path: Path
) -> None:
    pinned = repo / "node_modules" / ".bin" / "cdk"
    pinned.parent.mkdir(parents=True)
    pinned.write_text((tmp_path / "bin" / "cdk").read_text(encoding="utf-8").replace("fake-cdk", "pinned-cdk"))
    pinned.chmod(0o755)
    assert main(["deploy"]) == 0
    assert recorded(fake_cdk)["argv"][:4] == ["deploy", "modelrail-dev", "--context", "stage=dev"]


@pytest.mark.slow
def test_a_stale_model_is_built_before_cdk_runs(repo: Path, fake_cdk: Path, moto_server: str) -> None:
    from tests.support.tiny_build_models import write_tiny_model

    write_tiny_model(repo / "models", "fresh")
    manifest = load_manifest(repo / "models" / "fresh" / "model.yaml")
    assert main(["deploy", "--models", "fresh"]) == 0
    current_artifact(manifest, repo / "build" / "models")  # built, current and intact (raises otherwise)
    assert "models=fresh" in recorded(fake_cdk)["argv"]


def test_an_older_served_version_that_is_not_built_stops_deploy_before_cdk(
    repo: Path, fake_cdk: Path, moto_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    releases = 'deploy: {releases: {served: ["1", "2"], live: "1", canary: {version: "2", percent: 10}}}\n'
    (repo / "models" / "tiny" / "model.yaml").write_text(TINY_YAML.replace('"1"', '"2"') + releases, encoding="utf-8")
    tensor_artifact(repo / "build" / "models" / "tiny" / "2", version="2")
    (repo / "build" / "models" / "tiny" / "1" / "model.onnx").write_bytes(b"damaged")
    assert main(["deploy"]) == 1
    err = capsys.readouterr().err
    assert "served version 1" in err
    assert "deploy.releases.served" in err
    assert not fake_cdk.exists()


def test_without_credentials_deploy_stops_before_building_or_running_cdk(
    repo: Path, fake_cdk: Path, aws_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    (repo / "models" / "unbuilt").mkdir()
    (repo / "models" / "unbuilt" / "model.yaml").write_text(TINY_YAML.replace("tiny", "unbuilt"), encoding="utf-8")
    assert main(["deploy"]) == 1
    err = capsys.readouterr().err
    assert "no AWS credentials found" in err
    assert "aws configure" in err
    assert not fake_cdk.exists()
    assert not (repo / "build" / "models" / "unbuilt").exists()


def test_a_failed_cdk_deploy_passes_its_exit_status_on(
    repo: Path, fake_cdk: Path, moto_server: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FAKE_CDK_EXIT", "3")
    assert main(["deploy"]) == 3
    out, err = capfd.readouterr()
    assert "cdk deploy failed with exit status 3" in err
    assert "API URL" not in out


def test_a_stage_with_iam_auth_prints_no_key_but_how_to_sign(
    repo: Path, fake_cdk: Path, moto_server: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FAKE_CDK_AUTH", "iam")
    assert main(["deploy"]) == 0
    out = capsys.readouterr().out
    assert "API key:" not in out
    assert "curl" not in out
    assert "SigV4" in out
    assert "modelrail predict tiny" in out


def test_context_that_deploy_manages_is_refused_after_the_double_dash(
    repo: Path, fake_cdk: Path, moto_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["deploy", "--", "--context", "stage=prod"]) == 1
    assert "use modelrail deploy's --stage" in capsys.readouterr().err
    assert not fake_cdk.exists()


def test_outside_a_project_root_deploy_says_where_to_run_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["deploy"]) == 1
    assert "no cdk.json" in capsys.readouterr().err
