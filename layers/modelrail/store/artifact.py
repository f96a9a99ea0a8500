"""A verified artifact directory and the checks every source applies to it."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydantic import ValidationError

from modelrail.errors import ModelUnavailableError
from modelrail.manifest import BuiltManifest, FileEntry

CHUNK_BYTES = 1 << 20
HASH_CHUNK_BYTES = 8 << 20
"""Bytes per read when hashing a file: hashlib and file reads release the GIL, so few large calls keep
hashing a model quick while another thread is busy importing (each call waits its turn for the GIL)."""


class ArtifactIntegrityError(ModelUnavailableError):
    """A file whose sha256 or size differs from what the pinned manifest says; never served, never cached."""


@dataclass(frozen=True)
class Artifact:
    """A built model whose every file has been checked against its manifest."""

    directory: Path
    manifest: BuiltManifest
    manifest_sha256: str
    location: str
    """Where it came from, for messages: ``s3://bucket/prefix/`` or a directory."""

    def path(self, file_name: str) -> Path:
        """The local path of one artifact file."""
        return self.directory / file_name


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of a byte string."""
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> tuple[str, int]:
    """Hex sha256 and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb", buffering=0) as handle:
        buffer = bytearray(min(HASH_CHUNK_BYTES, os.fstat(handle.fileno()).st_size + 1))
        view = memoryview(buffer)
        while read := handle.readinto(buffer):
            digest.update(view[:read])
            size += read
    return digest.hexdigest(), size


def check_manifest_sha256(data: bytes, *, expected: str | None, where: str) -> str:
    """The manifest's sha256, after checking it against the pinned one when there is one."""
    actual = sha256_bytes(data)
    if expected is not None and actual != expected:
        raise ArtifactIntegrityError(
            f"{where} has sha256 {actual} but the deployment pins {expected} (MODELRAIL_MANIFEST_SHA256); "
            "refusing to serve it: redeploy, or re-upload the artifact that was built"
        )
    return actual


def parse_built_manifest(data: bytes, *, where: str) -> BuiltManifest:
    """Parse ``manifest.json``; an unreadable one is a 503, never a crash."""
    try:
        manifest = BuiltManifest.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(document)"
        raise ModelUnavailableError(
            f"{where} is not a valid built manifest ({exc.error_count()} problem(s); first: field `{field}`: "
            f"{first['msg']}); rebuild the model with `modelrail build`"
        ) from None
    for name in manifest.files:
        check_file_name(name, where=where)
    if manifest.model_file not in manifest.files:
        raise ModelUnavailableError(f"{where}: model_file `{manifest.model_file}` is not among its files")
    return manifest


def check_file_name(name: str, *, where: str) -> None:
    """Refuse artifact file names that could escape the artifact directory."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or not name or name.startswith("."):
        raise ModelUnavailableError(f"{where}: file name {name!r} is not a plain relative path")


def verify_file(path: Path, entry: FileEntry, *, where: str) -> None:
    """Check a file's size and sha256 against its manifest entry."""
    try:
        digest, size = sha256_file(path)
    except FileNotFoundError:
        raise ModelUnavailableError(f"{where} is missing; the artifact is incomplete") from None
    if size != entry.size or digest != entry.sha256:
        raise ArtifactIntegrityError(
            f"{where} has sha256 {digest} and {size} bytes but its manifest says {entry.sha256} and "
            f"{entry.size} bytes; refusing to serve a file that differs from the one that was built"
        )
