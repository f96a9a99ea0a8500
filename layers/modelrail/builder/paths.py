"""Where a build reads model folders and writes source outputs and artifacts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelrail.constants import BUILD_DIR, MANIFEST_YAML, MODELS_DIR, SOURCES_DIR


@dataclass(frozen=True, kw_only=True)
class BuildPaths:
    """The three roots of a build: model folders in, source outputs cached, artifacts out."""

    models_dir: Path = Path(MODELS_DIR)
    build_dir: Path = Path(BUILD_DIR)
    sources_dir: Path = Path(SOURCES_DIR)

    @classmethod
    def under(cls, models_dir: Path, build_dir: Path, sources_dir: Path | None = None) -> BuildPaths:
        """Paths with sources kept next to the artifacts (``<build_dir>/../sources``) unless given."""
        return cls(models_dir=models_dir, build_dir=build_dir, sources_dir=sources_dir or build_dir.parent / "sources")

    def model_dir(self, name: str) -> Path:
        """The model's folder, ``models/<name>/``."""
        return self.models_dir / name

    def manifest_path(self, name: str) -> Path:
        """The model's ``model.yaml``."""
        return self.model_dir(name) / MANIFEST_YAML

    def artifact_dir(self, name: str, version: str) -> Path:
        """The published artifact, ``build/models/<name>/<version>/`` (complete, or absent)."""
        return self.build_dir / name / version

    def source_dir(self, name: str) -> Path:
        """The cached output of the model's source script, ``build/sources/<name>/``."""
        return self.sources_dir / name
