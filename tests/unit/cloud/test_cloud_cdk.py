"""Which cdk deploy runs and with what arguments: the pinned CLI first, the stage's context explicit, managed keys
refused after ``--``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from modelrail.cli import main
from modelrail.cloud import cdk
from modelrail.cloud.session import CloudError


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_the_pinned_cli_in_node_modules_wins_over_one_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = _executable(tmp_path / "bin" / "cdk")
    monkeypatch.setenv("PATH", f"{on_path.parent}{os.pathsep}{os.environ['PATH']}")
    assert cdk.find_cdk(tmp_path) == str(on_path)
    pinned = _executable(tmp_path / "node_modules" / ".bin" / "cdk")
    assert cdk.find_cdk(tmp_path) == str(pinned)


def test_no_cdk_anywhere_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(CloudError, match=r"make setup"):
        cdk.find_cdk(tmp_path)


def test_deploy_command_names_the_stack_and_passes_every_managed_context_value() -> None:
    command = cdk.deploy_command("cdk", stage="prod", models=["digits", "minilm"], gpu_models=False, extra=["--force"])
    assert command == [
        "cdk",
        "deploy",
        "modelrail-prod",
        *("--context", "stage=prod"),
        *("--context", "models=digits,minilm"),
        *("--context", "gpu_models=false"),
        "--force",
    ]
    assert cdk.deploy_command("cdk", stage="dev", models=None, gpu_models=True)[-4:] == [
        *("--context", "models=all"),
        *("--context", "gpu_models=true"),
    ]


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["-c", "stage=prod"], "--stage"),
        (["--context", "models=digits"], "--models"),
        (["--context=gpu_models=true"], "--gpu-models"),
    ],
)
def test_extra_args_may_not_set_what_deploy_builds_for(extra: list[str], option: str) -> None:
    with pytest.raises(CloudError, match=option):
        cdk.check_extra_args(["--require-approval", "never", *extra])


def test_other_context_after_the_double_dash_is_passed_on() -> None:
    cdk.check_extra_args(
        ["--context", "auth=iam", "-c", "cors_origin=https://example.com", "--require-approval", "never"]
    )


def test_defaults_come_from_cdk_json(tmp_path: Path) -> None:
    (tmp_path / "cdk.json").write_text(
        '{"app": "x", "context": {"stage": "qa", "gpu_models": true, "models": "digits, minilm"}}', encoding="utf-8"
    )
    assert cdk.default_stage(tmp_path) == "qa"
    assert cdk.default_gpu_models(tmp_path) is True
    assert cdk.default_models(tmp_path) == ["digits", "minilm"]
    (tmp_path / "cdk.json").write_text('{"app": "x"}', encoding="utf-8")
    assert (cdk.default_stage(tmp_path), cdk.default_gpu_models(tmp_path), cdk.default_models(tmp_path)) == (
        "dev",
        False,
        None,
    )


def test_the_project_root_must_hold_cdk_json(tmp_path: Path) -> None:
    with pytest.raises(CloudError, match=r"no cdk\.json"):
        cdk.project_root(tmp_path)


def test_deploy_reads_the_folders_the_cdk_app_reads(tmp_path: Path) -> None:
    (tmp_path / "cdk.json").write_text(
        '{"context": {"models_dir": "zoo", "build_dir": "out/models"}}', encoding="utf-8"
    )
    assert cdk.project_dirs(tmp_path) == (tmp_path / "zoo", tmp_path / "out" / "models")
    (tmp_path / "cdk.json").write_text('{"context": {}}', encoding="utf-8")
    assert cdk.project_dirs(tmp_path) == (tmp_path / "models", tmp_path / "build" / "models")


@pytest.mark.parametrize("command", ["deploy", "status", "predict"])
def test_a_stage_that_is_no_stack_name_is_refused_before_any_call(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["minilm", "hello"] if command == "predict" else []
    with pytest.raises(SystemExit) as exit_info:
        main([command, *extra, "--stage", "Prod/../x"])
    assert exit_info.value.code == 2
    assert "is not a stage name" in capsys.readouterr().err
