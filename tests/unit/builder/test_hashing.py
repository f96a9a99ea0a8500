"""Input hashes change with what a build reads and with nothing else."""

from __future__ import annotations

from pathlib import Path

from modelrail.builder.hashing import InputHasher, folder_files
from modelrail.builder.paths import BuildPaths
from modelrail.builder.pipeline import input_hash
from modelrail.builder.sources import source_key
from modelrail.manifest import load_manifest
from tests.support.tiny_build_models import write_tiny_model


def test_folder_files_skip_caches_and_dotfiles(tmp_path: Path) -> None:
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "x.pyc").write_bytes(b"")
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "train.py").write_text("x")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "eval.npz").write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in folder_files(tmp_path)] == ["data/eval.npz", "train.py"]


def test_hasher_depends_on_labels_and_content(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("one")
    first = InputHasher().file("a", tmp_path / "a").hexdigest()
    assert first != InputHasher().file("b", tmp_path / "a").hexdigest()
    (tmp_path / "a").write_text("two")
    assert first != InputHasher().file("a", tmp_path / "a").hexdigest()


def test_input_hash_tracks_manifest_and_folder_but_not_comments(tmp_path: Path) -> None:
    folder = write_tiny_model(tmp_path / "models")
    paths = BuildPaths.under(tmp_path / "models", tmp_path / "build" / "models")
    yaml = folder / "model.yaml"
    original = input_hash(load_manifest(yaml), paths)
    yaml.write_text(yaml.read_text() + "# a comment changes nothing\n")
    assert input_hash(load_manifest(yaml), paths) == original
    yaml.write_text(yaml.read_text().replace("min: 0.9}", "min: 0.8}"))
    assert input_hash(load_manifest(yaml), paths) != original
    (folder / "eval.npz").write_bytes(b"other data")
    assert input_hash(load_manifest(yaml), paths) != original


def test_source_key_ignores_gate_settings(tmp_path: Path) -> None:
    folder = write_tiny_model(tmp_path / "models")
    yaml = folder / "model.yaml"
    before = source_key(load_manifest(yaml), folder)
    yaml.write_text(yaml.read_text().replace("min: 0.9}", "min: 0.8}"))
    assert source_key(load_manifest(yaml), folder) == before
