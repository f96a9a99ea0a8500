"""Lambda's size quota for a zip package, checked before CDK zips and uploads it."""

from __future__ import annotations

import os
from pathlib import Path

MiB = 1024 * 1024
UNZIPPED_LIMIT_BYTES = 250 * MiB
"""'Deployment package (.zip file archive) size: 250 MB (unzipped, including layers)' ("Lambda quotas" in the
Lambda developer guide); Lambda's own refusal counts it in bytes: "Unzipped size must be smaller than 262144000
bytes". Model functions attach no layers, so the package alone must fit."""
SHOWN = 8


class PackageTooLargeError(ValueError):
    """The unzipped package is over Lambda's quota; the message names the biggest top-level entries."""


def tree_bytes(path: Path) -> int:
    """Bytes of every regular file under ``path`` (or of ``path`` itself), symlinks not followed."""
    if path.is_file():
        return path.stat().st_size
    total = 0
    for folder, _dirs, files in os.walk(path):
        total += sum((Path(folder) / name).lstat().st_size for name in files)
    return total


def entry_sizes(directory: Path) -> dict[str, int]:
    """Bytes per top-level entry (a package folder, a module, a ``.libs`` folder), biggest first."""
    sizes = {entry.name: tree_bytes(entry) for entry in directory.iterdir() if not entry.name.endswith(".dist-info")}
    return dict(sorted(sizes.items(), key=lambda item: item[1], reverse=True))


def check_unzipped_size(directory: Path, *, limit: int = UNZIPPED_LIMIT_BYTES) -> int:
    """The package's unzipped bytes, or ``PackageTooLargeError`` naming what takes the most room."""
    total = tree_bytes(directory)
    if total <= limit:
        return total
    biggest = ", ".join(f"{name} {size / MiB:.1f} MiB" for name, size in list(entry_sizes(directory).items())[:SHOWN])
    raise PackageTooLargeError(
        f"the Lambda zip package is {total / MiB:.1f} MiB unzipped, over Lambda's {limit / MiB:.0f} MiB limit for "
        f"a .zip deployment package; biggest: {biggest}. Remove dependencies from "
        "functions/lambda_inference/requirements.txt, or deploy this model with `deploy.packaging: image` "
        "(container images may be up to 10 GB)"
    )
