"""`modelrail build --check` reports manifest errors by file, field and fix, and exits non-zero."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrail.cli import main

VALID = """\
name: {name}
version: "1"
task: tensor
source:
  path: model.onnx
quantization:
  mode: none
deploy:
  target: cpu
"""


def write_model(models: Path, folder: str, text: str) -> Path:
    (models / folder).mkdir(parents=True)
    (models / folder / "model.onnx").write_bytes(b"placeholder: --check never opens it")
    path = models / folder / "model.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def check(models: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["build", "--check", "--models-dir", str(models)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_valid_manifest_passes_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_model(tmp_path, "tiny", VALID.format(name="tiny"))
    code, output = check(tmp_path, capsys)
    assert code == 0
    assert f"ok: {path}" in output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            VALID.format(name="tiny").replace("task: tensor\n", ""),
            "field `task`: Field required; fix: add it",
            id="missing-field",
        ),
        pytest.param(
            VALID.format(name="tiny").replace("deploy:\n  target: cpu\n", "target: cpu\nmemory_mb: 512\n"),
            'field `target`: deployment settings live under `deploy:` (got "cpu"); '
            'fix: move it into the `deploy:` block, e.g. `deploy: {target: "cpu"}`',
            id="old-top-level-target",
        ),
        pytest.param(
            VALID.format(name="tiny").replace("deploy:\n  target: cpu\n", "memory_mb: 512\n"),
            "field `memory_mb`: deployment settings live under `deploy:` (got 512); fix: move it into the `deploy:`",
            id="old-top-level-memory",
        ),
        pytest.param(
            VALID.format(name="tiny") + "  instance_type: ml.g5.xlarge\n",
            'field `deploy.instance_type`: Extra inputs are not permitted (got "ml.g5.xlarge"); '
            "fix: remove it: it does not apply to `deploy.target: cpu`",
            id="gpu-field-on-cpu",
        ),
        pytest.param(
            VALID.format(name="tiny").replace("target: cpu", "target: gpu\n  memory_mb: 512"),
            "field `deploy.memory_mb`: Extra inputs are not permitted (got 512); "
            "fix: remove it: it does not apply to `deploy.target: gpu`",
            id="cpu-field-on-gpu",
        ),
        pytest.param(
            VALID.format(name="tiny").replace("target: cpu", "memory_mb: 64"),
            "field `deploy.memory_mb`: Input should be greater than or equal to 128 (got 64)",
            id="deploy-bound",
        ),
        pytest.param(
            VALID.format(name="tiny").replace("task: tensor", "task: translation"),
            "field `task`: Input should be 'tensor', 'text-embedding'",
            id="bad-enum",
        ),
        pytest.param(
            VALID.format(name="tiny") + "memory_mbs: 512\n",
            "field `memory_mbs`: Extra inputs are not permitted (got 512); fix: remove it (unknown key",
            id="unknown-key",
        ),
        pytest.param(
            VALID.format(name="tiny").replace("  mode: none", "  mode: none\n  per_chanel: false"),
            "field `quantization.per_chanel`: Extra inputs are not permitted",
            id="unknown-nested-key",
        ),
    ],
)
def test_invalid_manifest_names_file_field_and_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    path = write_model(tmp_path, "tiny", text)
    code, output = check(tmp_path, capsys)
    assert code == 1
    assert f"{path}: {expected}" in output


def test_bad_name_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_model(tmp_path, "Bad_Name", VALID.format(name="Bad_Name"))
    code, output = check(tmp_path, capsys)
    assert code == 1
    assert f"{path}: field `name`: String should match pattern" in output
    assert "fix: it must match" in output


def test_name_must_match_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_model(tmp_path, "tiny", VALID.format(name="other"))
    code, output = check(tmp_path, capsys)
    assert code == 1
    assert "`other` differs from its folder `tiny`" in output


def test_quantized_model_without_gate_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_model(tmp_path, "tiny", VALID.format(name="tiny").replace("mode: none", "mode: dynamic"))
    code, output = check(tmp_path, capsys)
    assert code == 1
    assert "quantization `dynamic` needs a `gate:`" in output


def test_missing_source_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_model(tmp_path, "tiny", VALID.format(name="tiny").replace("path: model.onnx", "path: missing.onnx"))
    code, output = check(tmp_path, capsys)
    assert code == 1
    assert f"{path}: field `source.path`: no file" in output


def test_text_model_tokenizer_must_ship_as_asset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = VALID.format(name="tiny").replace("task: tensor", "task: text-embedding")
    write_model(tmp_path, "tiny", text)
    code, output = check(tmp_path, capsys)
    assert code == 1
    assert "field `processing.tokenizer`: `tokenizer.json` is not among `source.assets`" in output


def test_every_problem_is_reported_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_model(tmp_path, "one", VALID.format(name="one") + "colour: red\n")
    write_model(tmp_path, "two", VALID.format(name="two").replace("target: cpu", "target: tpu"))
    code, output = check(tmp_path, capsys)
    assert code == 1
    assert "field `colour`" in output
    assert "field `deploy`: `deploy.target` must be `cpu` or `gpu`" in output


def test_unknown_model_name_lists_known_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_model(tmp_path, "tiny", VALID.format(name="tiny"))
    code = main(["build", "--check", "nope", "--models-dir", str(tmp_path)])
    assert code == 1
    assert "no model named ['nope']" in capsys.readouterr().err
