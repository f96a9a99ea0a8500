"""infra/app.py: context errors name the exact --context fix; bad manifests and unbuilt models stop synth;
the real `npx cdk synth` runs end to end (slow)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from fake_repo import CDK_CONTEXT, REPO_ROOT, FakeRepo, app_context, make_fake_repo, write_model

from infra.app import ContextError, build_app, read_settings
from modelrail.contract.auth import AuthMode


def settings_for(context: dict[str, Any], repo: FakeRepo) -> Any:
    return read_settings(cdk.App(context=context), source_root=repo.root)


def test_defaults_from_cdk_json(fake_repo: FakeRepo) -> None:
    settings, names, models_dir, build_dir = settings_for(app_context(fake_repo, ["tiny"]), fake_repo)
    assert (settings.stage, settings.auth, settings.retain_data) == ("dev", AuthMode.API_KEY, False)
    assert names == ["tiny"]
    assert (models_dir, build_dir) == (fake_repo.models_dir, fake_repo.build_dir)


def test_gpu_models_are_opt_in_per_stage(fake_repo: FakeRepo, capsys: pytest.CaptureFixture[str]) -> None:
    # `models=all` in the default app: the GPU model is left out with a note, never deployed by surprise.
    context = app_context(fake_repo, ["tiny"], {"models": "all"})
    stack = build_app(
        cdk.App(context=context, outdir=str(fake_repo.root.parent / "cdk-out-gpu-off")), source_root=fake_repo.root
    )
    assert set(stack.functions) == {"tiny", "tiny-b"}
    assert stack.endpoints == {}
    assert "not deploying GPU model(s) tiny-gpu" in capsys.readouterr().err
    assert CDK_CONTEXT["gpu_models"] is False


def test_a_gpu_model_the_stage_does_not_deploy_need_not_be_built(tmp_path: Path) -> None:
    repo = make_fake_repo(tmp_path / "repo")
    shutil.rmtree(repo.build_dir / "tiny-gpu")
    context = app_context(repo, ["tiny"], {"models": "all"})
    stack = build_app(cdk.App(context=context, outdir=str(tmp_path / "cdk-out")), source_root=repo.root)
    assert set(stack.functions) == {"tiny", "tiny-b"}


def test_a_gpu_model_named_without_the_opt_in_names_the_fix(fake_repo: FakeRepo) -> None:
    context = app_context(fake_repo, ["tiny", "tiny-gpu"])
    with pytest.raises(ContextError, match=r"GPU model\(s\) tiny-gpu selected.*`--context gpu_models=true`"):
        build_app(cdk.App(context=context), source_root=fake_repo.root)


def test_data_is_retained_outside_dev_unless_told(fake_repo: FakeRepo) -> None:
    assert settings_for(app_context(fake_repo, ["tiny"], {"stage": "prod"}), fake_repo)[0].retain_data is True
    context = app_context(fake_repo, ["tiny"], {"stage": "prod", "retain_data": "false"})
    assert settings_for(context, fake_repo)[0].retain_data is False


@pytest.mark.parametrize(
    ("key", "fix"),
    [("stage", "--context stage=dev"), ("auth", "--context auth=api-key"), ("models", "--context models=all")],
)
def test_missing_context_value_names_the_exact_fix(fake_repo: FakeRepo, key: str, fix: str) -> None:
    context = app_context(fake_repo, ["tiny"])
    del context[key]
    with pytest.raises(ContextError, match=f"missing context value `{key}`: pass `{fix}`"):
        settings_for(context, fake_repo)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("auth", "oauth", "one of api-key, iam"),
        ("stage", "Prod_1", "a dns-safe stage name"),
        ("throttle_rate", "-1", "a positive number"),
        ("log_retention_days", "8", "one of 1, 3, 5, 7"),
        ("retain_data", "maybe", "true or false"),
    ],
)
def test_bad_context_value_says_what_is_expected(fake_repo: FakeRepo, key: str, value: str, expected: str) -> None:
    context = app_context(fake_repo, ["tiny"], {key: value})
    with pytest.raises(ContextError, match=f"`{key}={value}` is not {expected}"):
        settings_for(context, fake_repo)


def run_app(context: dict[str, Any], cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    """Run the app as the CDK CLI does: context in CDK_CONTEXT_JSON, cloud assembly dir in CDK_OUTDIR."""
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context)}
    return subprocess.run(
        [sys.executable, "-m", "infra.app"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_invalid_manifest_fails_synth_with_its_message(fake_repo: FakeRepo, tmp_path: Path) -> None:
    models = tmp_path / "models"
    write_model(
        models,
        {
            "name": "broken",
            "version": "1",
            "task": "tensor",
            "source": {"path": "m.onnx"},
            "deploy": {"memory_mb": 64},
        },
    )
    context = {**app_context(fake_repo, ["broken"]), "models_dir": str(models)}
    result = run_app(context)
    assert result.returncode == 1
    assert "broken/model.yaml: field `deploy.memory_mb`" in result.stderr
    assert "Traceback" not in result.stderr


def test_unbuilt_model_fails_synth_with_the_build_command(fake_repo: FakeRepo, tmp_path: Path) -> None:
    context = {**app_context(fake_repo, ["tiny"]), "build_dir": str(tmp_path / "empty")}
    result = run_app(context)
    assert result.returncode == 1
    assert "run `modelrail build tiny`" in result.stderr


def test_missing_context_fails_the_app_with_the_fix(fake_repo: FakeRepo) -> None:
    context = {k: v for k, v in app_context(fake_repo, ["tiny"]).items() if k != "stage"}
    result = run_app(context)
    assert result.returncode == 1
    assert "pass `--context stage=dev`" in result.stderr


@pytest.mark.slow
def test_real_cdk_cli_synthesizes_the_app(fake_repo: FakeRepo, tmp_path: Path) -> None:
    """`npx cdk synth` with the pinned CLI, the real Dockerfiles and cdk.json, on the fake models."""
    cli = REPO_ROOT / "node_modules" / ".bin" / "cdk"
    if not cli.exists() or shutil.which("node") is None:
        pytest.skip("the pinned aws-cdk CLI is not installed: run `npm ci`")
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        [
            str(cli),
            "synth",
            "--quiet",
            "--output",
            str(outdir),
            "--context",
            f"models_dir={fake_repo.models_dir}",
            "--context",
            f"build_dir={fake_repo.build_dir}",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1", "CDK_DISABLE_VERSION_CHECK": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    stage = CDK_CONTEXT["stage"]
    assert (outdir / f"modelrail-{stage}.template.json").is_file()
    templates = [json.loads(path.read_text()) for path in outdir.glob("*.template.json")]  # the stage's + each model's
    assert len(templates) > 1
    functions = [r for t in templates for r in t["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert any(f["Metadata"].get("aws:asset:dockerfile-path") for f in functions)  # the CLI's asset metadata
