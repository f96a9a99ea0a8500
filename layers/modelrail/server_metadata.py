"""``GET /v2``: the Open Inference Protocol's server metadata, one body for the catalog function and every app.

Standard library only: the catalog function imports it from the layer without the package's dependencies.
"""

from __future__ import annotations

from typing import Any

from modelrail import __version__

SERVER_NAME = "modelrail"
EXTENSIONS: tuple[str, ...] = ("binary_tensor_data",)
"""Open Inference Protocol extensions every route serves; ``binary_tensor_data`` is the name Triton gives the
binary tensor data extension (``Inference-Header-Content-Length``), the one tritonclient checks for."""


def server_metadata() -> dict[str, Any]:
    """The ``$metadata_server_response`` object: name, version and extensions."""
    return {"name": SERVER_NAME, "version": __version__, "extensions": list(EXTENSIONS)}
