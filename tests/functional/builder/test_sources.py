"""Source scripts run once into build/sources/<name>/, are reused while unchanged, and fail loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrail.builder import SourceError, build_models, ensure_source

SCRIPT = """\
import argparse, sys
from pathlib import Path

sys.path.insert(0, {repo!r})
from tests.support.tiny_build_models import skewed_matmul_model, write_tensor_dataset

parser = argparse.ArgumentParser()
parser.add_argument("--output", type=Path, required=True)
output = parser.parse_args().output
skewed_matmul_model(output / "model.onnx")
write_tensor_dataset(output / "eval.npz")
(Path(__file__).resolve().parents[2] / "runs.log").open("a").write("ran\\n")  # outside the model folder
print("wrote the tiny model")
"""

MANIFEST = """\
name: scripted
version: "2"
task: tensor
source:
  script: make.py
quantization: {mode: none}
gate:
  dataset: eval.npz
  batch_sizes: [1, 4]
  thresholds:
    max_abs_diff: {max: 0.0}
"""

REPO = str(Path(__file__).resolve().parents[3])


@pytest.fixture
def scripted(tmp_path: Path) -> Path:
    folder = tmp_path / "models" / "scripted"
    folder.mkdir(parents=True)
    (folder / "make.py").write_text(SCRIPT.format(repo=REPO))
    (folder / "model.yaml").write_text(MANIFEST)
    return tmp_path


def runs(root: Path) -> int:
    log = root / "runs.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_script_output_is_cached_and_found(scripted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models, build = scripted / "models", scripted / "build" / "models"
    (result,) = build_models(models_dir=models, build_dir=build)
    assert result.status == "built"
    assert "[scripted]   | wrote the tiny model" in capsys.readouterr().err
    assert (scripted / "build" / "sources" / "scripted" / "eval.npz").is_file()
    assert result.report is not None
    assert result.report.precision == "fp32"
    assert result.report.serving_max_batch_size == 4
    source = ensure_source("scripted", models_dir=models, build_dir=build)
    assert source.find("eval.npz") == scripted / "build" / "sources" / "scripted" / "eval.npz"
    assert runs(scripted) == 1  # ensure_source reused the output the build made


def test_changed_script_runs_again(scripted: Path) -> None:
    models, build = scripted / "models", scripted / "build" / "models"
    build_models(models_dir=models, build_dir=build)
    script = models / "scripted" / "make.py"
    script.write_text(script.read_text() + "# changed\n")
    (result,) = build_models(models_dir=models, build_dir=build)
    assert result.status == "built"
    assert runs(scripted) == 2


def test_failing_script_reports_its_output(scripted: Path) -> None:
    models, build = scripted / "models", scripted / "build" / "models"
    (models / "scripted" / "make.py").write_text("print('about to fail')\nraise SystemExit(3)\n")
    with pytest.raises(SourceError, match=r"exited with status 3; its last output:\n    about to fail"):
        ensure_source("scripted", models_dir=models, build_dir=build)
    assert not (scripted / "build" / "sources" / "scripted").exists()
    (result,) = build_models(models_dir=models, build_dir=build, raise_on_failure=False)
    assert result.status == "failed"
    assert not (build / "scripted").exists() or not any((build / "scripted").iterdir())


def test_script_that_writes_no_model_is_refused(scripted: Path) -> None:
    models, build = scripted / "models", scripted / "build" / "models"
    (models / "scripted" / "make.py").write_text("print('nothing to see')\n")
    with pytest.raises(SourceError, match=r"wrote no model\.onnx"):
        ensure_source("scripted", models_dir=models, build_dir=build)
