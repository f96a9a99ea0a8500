"""``modelrail push``: upload every served version's artifact to ``models/<name>/<version>/`` and verify it.

Each local artifact is verified against its manifest first, so a corrupt build is never uploaded. Every file goes
up with its sha256 (S3 rejects a body that does not match), ``manifest.json`` last: a reader that finds the
manifest finds every file it names. Then each object is read back and hashed.

A version is immutable: a deployed function pins its manifest's sha256, and every function version serves every
served version on its pinned routes. So the same bytes again are a no-op, and other bytes under a version the
bucket already holds are refused. The manifest is written with ``If-None-Match: *`` (S3 conditional writes,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html: the write fails with 412
Precondition Failed when the key exists, or 409 ConditionalRequestConflict while another conditional write of it
is in flight), so two pushes racing to create one version cannot both win either.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelrail import constants as c

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from modelrail.store.artifact import Artifact

MAX_SINGLE_PUT_BYTES = 5 * 1024**3
"""S3's limit for one PutObject; larger files would need a multipart upload, which push does not do."""
_CHUNK = 1 << 20

Progress = Callable[[str], None]


class PushError(Exception):
    """A push that cannot go ahead or did not verify; the message says what to do."""


@dataclass(frozen=True)
class PushedArtifact:
    """One artifact now in the bucket."""

    name: str
    version: str
    bucket: str
    prefix: str
    manifest_sha256: str
    files: int
    size: int
    uploaded: bool
    """False when the bucket already held exactly this artifact."""

    @property
    def url(self) -> str:
        """``s3://bucket/prefix``."""
        return f"s3://{self.bucket}/{self.prefix}"


def human_size(size: int) -> str:
    """``23.5 MB``, ``812 kB``, ``97 B``."""
    if size >= 1_000_000:
        return f"{size / 1e6:.1f} MB"
    return f"{size / 1e3:.0f} kB" if size >= 1000 else f"{size} B"


def _b64_sha256(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def _error_code(exc: Exception) -> str:
    response: Any = getattr(exc, "response", None)
    return str((response or {}).get("Error", {}).get("Code", ""))


def _remote_manifest_sha256(client: S3Client, bucket: str, key: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
    except ClientError as exc:
        if _error_code(exc) in {"NoSuchKey", "404", "NotFound"}:
            return None
        raise
    return hashlib.sha256(body.read()).hexdigest()


def _hash_object(client: S3Client, bucket: str, key: str) -> tuple[str, int]:
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    digest = hashlib.sha256()
    size = 0
    for chunk in body.iter_chunks(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


_EXISTS_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
"""What a create-only write answers when the key exists (412) or another create of it is in flight (409)."""


def _put(
    client: S3Client, bucket: str, key: str, path: Path, *, sha256: str, content_type: str, create_only: bool = False
) -> None:
    with path.open("rb") as handle:
        if create_only:
            client.put_object(
                Bucket=bucket,
                Key=key,
                Body=handle,
                ChecksumSHA256=_b64_sha256(sha256),
                ContentType=content_type,
                IfNoneMatch="*",
            )
        else:
            client.put_object(
                Bucket=bucket, Key=key, Body=handle, ChecksumSHA256=_b64_sha256(sha256), ContentType=content_type
            )


def push_artifact(
    client: S3Client, *, bucket: str, artifact: Artifact, progress: Progress | None = None
) -> PushedArtifact:
    """Upload one verified artifact (manifest last, create-only), then read every object back and check its sha256;
    a version the bucket holds is only verified, or refused (``PushError``) when its bytes differ."""
    say = progress or (lambda _line: None)
    manifest = artifact.manifest
    prefix = c.artifact_prefix(manifest.name, manifest.version)
    manifest_key = prefix + c.MANIFEST_JSON
    manifest_path = artifact.path(c.MANIFEST_JSON)
    files = sorted(manifest.files.items())
    total = sum(entry.size for _, entry in files) + manifest_path.stat().st_size
    for name, entry in files:
        if entry.size > MAX_SINGLE_PUT_BYTES:
            raise PushError(f"{name} is {entry.size / 1024**3:.1f} GiB; push uploads files of up to 5 GiB only")

    existing = _remote_manifest_sha256(client, bucket, manifest_key)
    if existing is not None:
        return _already_there(client, bucket, artifact, existing, say)

    for name, entry in files:
        say(f"{manifest.name} {manifest.version}: uploading {name} ({human_size(entry.size)})")
        _put(
            client,
            bucket,
            prefix + name,
            artifact.path(name),
            sha256=entry.sha256,
            content_type="application/octet-stream",
        )
    say(f"{manifest.name} {manifest.version}: uploading {c.MANIFEST_JSON}")
    try:
        _put(
            client,
            bucket,
            manifest_key,
            manifest_path,
            sha256=artifact.manifest_sha256,
            content_type="application/json",
            create_only=True,
        )
    except Exception as exc:
        if _error_code(exc) not in _EXISTS_CODES:
            raise
        # Another push created this version meanwhile: the same bytes are fine, others are refused.
        existing = _remote_manifest_sha256(client, bucket, manifest_key)
        if existing is None:
            raise
        return _already_there(client, bucket, artifact, existing, say)
    _verify(client, bucket, prefix, artifact)
    say(f"{manifest.name} {manifest.version}: verified {len(files) + 1} objects at s3://{bucket}/{prefix}")
    return PushedArtifact(
        manifest.name, manifest.version, bucket, prefix, artifact.manifest_sha256, len(files) + 1, total, True
    )


def _already_there(client: S3Client, bucket: str, artifact: Artifact, existing: str, say: Progress) -> PushedArtifact:
    """The bucket holds this version: verified and unchanged when it is these bytes, else ``PushError``."""
    manifest = artifact.manifest
    prefix = c.artifact_prefix(manifest.name, manifest.version)
    if existing != artifact.manifest_sha256:
        raise PushError(
            f"s3://{bucket}/{prefix}{c.MANIFEST_JSON} already holds {manifest.name} version {manifest.version} with "
            f"other bytes (manifest sha256 {existing}, this build's is {artifact.manifest_sha256}); a version is "
            f"immutable: deployed functions pin it and serve it on its pinned routes. Set a new `version` in "
            f"models/{manifest.name}/{c.MANIFEST_YAML} and run `modelrail build {manifest.name}`"
        )
    say(f"{manifest.name} {manifest.version}: s3://{bucket}/{prefix} already holds this artifact; verifying")
    _verify(client, bucket, prefix, artifact)
    files = len(manifest.files) + 1
    size = sum(entry.size for entry in manifest.files.values()) + artifact.path(c.MANIFEST_JSON).stat().st_size
    return PushedArtifact(manifest.name, manifest.version, bucket, prefix, existing, files, size, False)


def _verify(client: S3Client, bucket: str, prefix: str, artifact: Artifact) -> None:
    expected = {name: (entry.sha256, entry.size) for name, entry in artifact.manifest.files.items()}
    expected[c.MANIFEST_JSON] = (artifact.manifest_sha256, artifact.path(c.MANIFEST_JSON).stat().st_size)
    for name, (sha256, size) in sorted(expected.items()):
        actual_sha, actual_size = _hash_object(client, bucket, prefix + name)
        if (actual_sha, actual_size) != (sha256, size):
            raise PushError(
                f"s3://{bucket}/{prefix}{name} reads back as sha256 {actual_sha} ({actual_size} bytes), expected "
                f"{sha256} ({size} bytes); push again"
            )


def resolve_artifacts(names: Iterable[str], *, models_dir: Path, build_dir: Path) -> list[Artifact]:
    """The artifact of every version the named models serve (all models when none are named), each intact, the
    manifest's own version current for its model.yaml (``store.current.served_artifacts``).

    A stale one (built from an older model.yaml) is refused with the command that rebuilds it, as synth does.
    """
    from modelrail.manifest import ManifestError, discover_manifests, load_manifest
    from modelrail.store.current import ArtifactNotCurrentError, served_artifacts

    manifests = discover_manifests(models_dir)
    wanted = list(names) or list(manifests)
    if not wanted:
        raise PushError(f"no models found: {models_dir} has no */{c.MANIFEST_YAML}")
    artifacts: list[Artifact] = []
    for name in wanted:
        if name not in manifests:
            raise PushError(f"no model `{name}` in {models_dir}; known: {', '.join(manifests) or 'none'}")
        try:
            artifacts += served_artifacts(load_manifest(manifests[name]), build_dir).values()
        except (ManifestError, ArtifactNotCurrentError) as exc:
            raise PushError(str(exc)) from None
    return artifacts


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``modelrail push``."""
    parser = subparsers.add_parser(
        "push",
        help="upload built models to an S3 bucket and verify them",
        description=(
            "Upload build/models/<name>/<version>/ of every version a model serves (deploy.releases.served) to "
            "s3://BUCKET/models/<name>/<version>/ (manifest.json last, create-only), then read every object back and "
            "check its sha256. A version is immutable: the same bytes again change nothing, other bytes under a "
            "version the bucket holds are refused. Uses your normal AWS credentials and region."
        ),
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="models to push (default: all in --models-dir)")
    parser.add_argument("--bucket", required=True, help="the model bucket (the stack's ModelBucket output)")
    parser.add_argument("--models-dir", type=Path, default=Path(c.MODELS_DIR), help="default: %(default)s")
    parser.add_argument("--build-dir", type=Path, default=Path(c.BUILD_DIR), help="default: %(default)s")
    parser.add_argument("--endpoint-url", help="an S3-compatible endpoint instead of AWS (or set AWS_ENDPOINT_URL_S3)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Push each artifact; print its location and the sha256 a deployment pins."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from modelrail.errors import ModelrailError

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    try:
        artifacts = resolve_artifacts(args.names, models_dir=args.models_dir, build_dir=args.build_dir)
        client = boto3.client("s3", endpoint_url=args.endpoint_url)
        pushed = [
            push_artifact(client, bucket=args.bucket, artifact=artifact, progress=progress) for artifact in artifacts
        ]
    except (PushError, ModelrailError) as exc:
        print(f"modelrail push: {exc}", file=sys.stderr)
        return 1
    except ClientError as exc:
        print(f"modelrail push: S3 refused ({_error_code(exc) or 'error'}): {exc}", file=sys.stderr)
        return 1
    except BotoCoreError as exc:
        print(f"modelrail push: {exc} (configure AWS credentials and a region, e.g. `aws configure`)", file=sys.stderr)
        return 1
    for item in pushed:
        state = "uploaded" if item.uploaded else "unchanged"
        print(f"{item.name}\t{item.version}\t{item.url}\t{state}\t{c.ENV_MANIFEST_SHA256}={item.manifest_sha256}")
    return 0
