"""The ``modelrail`` entry point: every command is listed, and a missing optional extra is a one-line fix."""

from __future__ import annotations

import subprocess
import sys

import pytest

from modelrail import cli
from modelrail.local import cli as local_cli


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("build", "local", "invoke", "push", "deploy", "predict", "status"):
        assert command in out


def test_a_missing_extra_names_the_package_and_the_install_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def needs_moto(args: object) -> int:
        raise ModuleNotFoundError("No module named 'moto'", name="moto")

    monkeypatch.setattr(local_cli, "_run_up", needs_moto)
    assert cli.main(["local", "up"]) == 2
    err = capsys.readouterr().err
    assert "moto is not installed" in err
    assert "modelrail[local]" in err


def test_a_missing_module_of_our_own_is_not_blamed_on_an_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: object) -> int:
        raise ModuleNotFoundError("No module named 'modelrail.nope'", name="modelrail.nope")

    monkeypatch.setattr(local_cli, "_run_up", broken)
    with pytest.raises(ModuleNotFoundError):
        cli.main(["local", "up"])


def test_deploy_predict_and_status_keep_boto3_out_of_start_up() -> None:
    # The three cloud commands register without importing boto3 (or botocore): `modelrail --help` stays fast.
    code = "import sys; from modelrail.cli import make_parser; make_parser(); print('botocore' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "False"
