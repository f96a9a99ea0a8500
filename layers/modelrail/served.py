"""Which loader answers a request: the default version's for unversioned routes, each served version's for its
pinned routes (``MODELRAIL_SERVED_VERSIONS``).

The default version is preloaded at start, as before; another served version gets its own loader on its first
pinned request, which fetches and verifies that version's artifact against its own pinned sha256. Artifacts are
immutable, so every function version answers ``/versions/<v>/...`` with exactly version ``v``'s bytes.
"""

from __future__ import annotations

import threading

from modelrail.errors import VersionNotFoundError
from modelrail.loader import ModelLoader
from modelrail.routes import SERVED_VERSION
from modelrail.settings import Settings


class ServedVersions:
    """The loaders of every version this process serves: the default one's, and one per other version."""

    def __init__(self, settings: Settings, default: ModelLoader) -> None:
        self.settings = settings
        self.default = default
        self._lock = threading.Lock()
        self._others: dict[str, ModelLoader] = {}

    @property
    def versions(self) -> list[str] | None:
        """Served versions; None when not configured (the artifact's own version is the one)."""
        return self.settings.versions

    def loader(self, version: str | None) -> ModelLoader:
        """The loader for a route's version (``None``: unversioned); ``VersionNotFoundError`` if it is not served.

        Without a configured version (a model directory alone) the default loader answers, and the caller compares
        the loaded artifact's own version.
        """
        served = self.settings.versions
        if version is None or served is None or version == self.settings.model_version:
            return self.default
        if version not in served:
            # Echoed only when it looks like a version: the message is a document the caller may render.
            asked = f"`{version}`" if SERVED_VERSION.fullmatch(version) else "by that name"
            model = f"model `{self.settings.model_name}`" if self.settings.model_name else "this model"
            raise VersionNotFoundError(
                f"{model} has no version {asked}; served versions: {', '.join(f'`{v}`' for v in served)}"
            )
        with self._lock:
            loader = self._others.get(version)
            if loader is None:
                loader = self._others[version] = self.default.sibling(self.settings.for_version(version))
            return loader
