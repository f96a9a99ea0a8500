"""Publishing is all-or-nothing; every file but manifest.json is described by sha256 and size."""

from __future__ import annotations

from pathlib import Path

from modelrail.builder.artifact import describe_files, new_staging_dir, publish, remove_leftovers
from modelrail.builder.hashing import sha256_file


def test_publish_replaces_previous_directory_whole(tmp_path: Path) -> None:
    final = tmp_path / "tiny" / "1"
    final.mkdir(parents=True)
    (final / "old.txt").write_text("old")
    staging = new_staging_dir(final)
    (staging / "new.txt").write_text("new")
    publish(staging, final)
    assert sorted(path.name for path in final.iterdir()) == ["new.txt"]
    assert sorted(path.name for path in final.parent.iterdir()) == ["1"]


def test_staging_directories_are_hidden_and_cleaned(tmp_path: Path) -> None:
    final = tmp_path / "tiny" / "1"
    staging = new_staging_dir(final)
    other = new_staging_dir(tmp_path / "tiny" / "2")
    assert staging.name.startswith(".")
    assert not final.exists()
    remove_leftovers(final)
    assert not staging.exists()
    assert other.exists()  # another version's build may be in progress


def test_describe_files_hashes_everything_but_manifest_json(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"weights")
    (tmp_path / "manifest.json").write_text("{}")
    files = describe_files(tmp_path)
    assert list(files) == ["model.onnx"]
    assert files["model.onnx"].sha256 == sha256_file(tmp_path / "model.onnx")
    assert files["model.onnx"].size == len(b"weights")
