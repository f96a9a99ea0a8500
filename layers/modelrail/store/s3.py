"""Artifact source: S3 (or any S3-compatible server boto3 reaches through ``AWS_ENDPOINT_URL_S3``).

Every object is downloaded to a temporary file (parallel ranged GETs for large ones), checked against the
pinned manifest and only then renamed into place, so the cache never holds a partial or mismatched file.
Transient S3 errors are retried with capped exponential backoff and full jitter; a checksum mismatch is not
retried within a load (the object itself is wrong) and the next request tries again from scratch.

The whole fetch (connects, reads, retries, backoff) has one deadline (``modelrail.deadline``): the caller is
answered when it passes, whatever S3 does; the downloading threads stop at their next chunk or socket
timeout and remove their ``.part`` files, and leftovers of a process that died mid-download are swept.

The client is botocore's own, the engine under boto3: the same signing, credentials, endpoint and region
resolution, without importing boto3's resource layer and s3transfer on the cold path. The manifest gives
every file's size, so large files are split into ranged GETs without a HEAD request first.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from modelrail.constants import MANIFEST_JSON
from modelrail.deadline import DEFAULT_FETCH_BUDGET_S, Deadline, s3_timeouts_s
from modelrail.errors import FetchTimeoutError, ModelUnavailableError
from modelrail.logs import get_logger
from modelrail.manifest import FileEntry
from modelrail.store.artifact import (
    CHUNK_BYTES,
    Artifact,
    ArtifactIntegrityError,
    check_manifest_sha256,
    parse_built_manifest,
    sha256_file,
    verify_file,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = get_logger("store")
T = TypeVar("T")

_RETRYABLE_CODES = frozenset(
    {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "Throttling", "ThrottlingException"}
)


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter (sleep uniformly in [0, min(cap, base * 2**n)])."""

    attempts: int = 4
    base_s: float = 0.2
    cap_s: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
        return self.rng.uniform(0, min(self.cap_s, self.base_s * 2**attempt))


_data_loader: Any = None
"""botocore's loader of service models (JSON files), shared by every client this process makes."""


def make_s3_client(*, budget_s: float = DEFAULT_FETCH_BUDGET_S) -> S3Client:
    """An S3 client whose own retries are off (``RetryPolicy`` does them), with per-call timeouts that leave
    room for several attempts within ``budget_s`` (``deadline.s3_timeouts_s``)."""
    from botocore.config import Config
    from botocore.session import get_session

    connect_timeout, read_timeout = s3_timeouts_s(budget_s)
    session = get_session()
    # Each client gets its own session (credentials resolved afresh) but shares the data loader, so the S3 service
    # model is parsed once per process: a second client (after a SnapStart restore) costs ~50 ms, not ~500 ms.
    global _data_loader  # noqa: PLW0603 - one per process, by design
    if _data_loader is None:
        _data_loader = session.get_component("data_loader")
    else:
        session.register_component("data_loader", _data_loader)
    config = Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=8,
    )
    return cast("S3Client", session.create_client("s3", config=config))


RANGED_DOWNLOAD_BYTES = 8 * 1024 * 1024
"""Files this large are fetched with parallel ranged GETs."""
RANGE_PART_BYTES = 8 * 1024 * 1024
"""Bytes per ranged GET (one stream tops out well below S3's bandwidth)."""
RANGE_CONCURRENCY = 4


class _SizeMismatchError(Exception):
    """The object's size in S3 is not the manifest's: a ranged download cannot tell its checksum."""


def _is_retryable(exc: Exception) -> bool:
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        EndpointConnectionError,
        HTTPClientError,
        IncompleteReadError,
        ReadTimeoutError,
        ResponseStreamingError,
    )

    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return status >= 500 or status == 429 or code in _RETRYABLE_CODES
    transient = (
        ConnectionClosedError,
        EndpointConnectionError,
        HTTPClientError,
        IncompleteReadError,
        ReadTimeoutError,
        ResponseStreamingError,
        ConnectionError,
        TimeoutError,
    )
    return isinstance(exc, transient)


def _describe(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
        return f"{error.get('Code', 'error')} (HTTP {status})"
    return f"{type(exc).__name__}: {exc}"


class S3ArtifactSource:
    """Fetches ``s3://<bucket>/<prefix>`` into ``<cache_dir>/<manifest sha256>/`` and verifies it."""

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str,
        manifest_sha256: str,
        cache_dir: Path,
        client: S3Client | None = None,
        retry: RetryPolicy | None = None,
        budget_s: float = DEFAULT_FETCH_BUDGET_S,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.manifest_sha256 = manifest_sha256
        self.cache_dir = cache_dir
        self._client = client
        self.retry = retry or RetryPolicy()
        self.budget_s = budget_s
        self._deadline = Deadline.after(budget_s)
        self._cancelled = threading.Event()

    @property
    def location(self) -> str:
        """``s3://bucket/prefix/``."""
        return f"s3://{self.bucket}/{self.prefix}"

    def _s3(self) -> S3Client:
        if self._client is None:
            self._client = make_s3_client(budget_s=self.budget_s)
        return self._client

    def fetch(self, deadline: Deadline | None = None) -> Artifact:
        """Download (or reuse verified cached copies of) every file, verified against the pinned manifest.

        Returns or raises by ``deadline`` (default: ``budget_s`` from now) whatever S3 does: past it, a
        ``FetchTimeoutError``, and the download threads stop and clean up on their own.
        """
        self._deadline = deadline or Deadline.after(self.budget_s)
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def run() -> None:
            try:
                outcome["artifact"] = self._fetch()
            except BaseException as exc:  # handed to the caller's thread as it is
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=run, name="s3-fetch", daemon=True).start()
        if not done.wait(self._deadline.remaining()):
            self._cancelled.set()
            raise FetchTimeoutError(f"{self.location} was not fetched before the deadline ({self.budget_s:.1f} s)")
        if "error" in outcome:
            raise outcome["error"]
        artifact: Artifact = outcome["artifact"]
        return artifact

    def _check_deadline(self, url: str) -> None:
        if self._cancelled.is_set() or self._deadline.expired:
            raise FetchTimeoutError(f"{url}: gave up at the fetch's deadline ({self.budget_s:.1f} s)")

    def _fetch(self) -> Artifact:
        manifest_url = self.location + MANIFEST_JSON
        data = self._with_retries(manifest_url, lambda: self._get_bytes(self.prefix + MANIFEST_JSON))
        sha = check_manifest_sha256(data, expected=self.manifest_sha256, where=manifest_url)
        manifest = parse_built_manifest(data, where=manifest_url)
        target = self.cache_dir / sha
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelUnavailableError(f"cache directory {target} cannot be created: {exc.strerror}") from None
        _sweep_stale_parts(target, older_than_s=STALE_PART_S)
        files = sorted(manifest.files.items())
        with ThreadPoolExecutor(max_workers=max(1, min(4, len(files))), thread_name_prefix="s3-fetch") as pool:
            futures = [pool.submit(self._fetch_file, name, entry, target) for name, entry in files]
            for future in futures:
                future.result()  # the first failure propagates; the others finish or fail on their own
        _write_atomically(target / MANIFEST_JSON, data)
        return Artifact(directory=target, manifest=manifest, manifest_sha256=sha, location=self.location)

    def _fetch_file(self, name: str, entry: FileEntry, target: Path) -> None:
        final = target / name
        url = self.location + name
        if final.exists():
            try:
                verify_file(final, entry, where=str(final))
            except ArtifactIntegrityError:
                final.unlink(missing_ok=True)  # a stale copy (e.g. /tmp reused) is replaced, never served
            else:
                log.info("artifact file reused from cache", extra={"file": name, "bytes": entry.size})
                return
        final.parent.mkdir(parents=True, exist_ok=True)
        self._with_retries(url, lambda: self._download(self.prefix + name, final, entry, url))

    def _download(self, key: str, final: Path, entry: FileEntry, url: str) -> None:
        partial = final.with_name(f".{final.name}.{uuid.uuid4().hex}.part")
        try:
            digest, size = None, 0
            if entry.size >= RANGED_DOWNLOAD_BYTES:
                try:
                    self._download_ranges(key, partial, entry.size)
                    digest, size = sha256_file(partial)
                except _SizeMismatchError:
                    pass  # a different object: the single GET below reads it whole to report what it is
            if digest is None:  # one GET, hashed while it streams
                digest, size = self._stream_to(key, partial)
            if size != entry.size or digest != entry.sha256:
                raise ArtifactIntegrityError(
                    f"{url} has sha256 {digest} and {size} bytes but its manifest says "
                    f"{entry.sha256} and {entry.size} bytes; refusing to serve it (not cached; the next "
                    "request fetches again)"
                )
            partial.replace(final)
        finally:
            partial.unlink(missing_ok=True)

    def _download_ranges(self, key: str, path: Path, size: int) -> None:
        """Parallel ranged GETs of a ``size``-byte object into ``path``, each written at its own offset."""
        starts = range(0, size, RANGE_PART_BYTES)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            with ThreadPoolExecutor(
                max_workers=min(RANGE_CONCURRENCY, len(starts)), thread_name_prefix="s3-range"
            ) as pool:
                futures = [pool.submit(self._get_range, key, descriptor, start, size) for start in starts]
                for future in futures:
                    future.result()
        finally:
            os.close(descriptor)

    def _get_range(self, key: str, descriptor: int, start: int, size: int) -> None:
        from botocore.exceptions import ClientError

        end = min(start + RANGE_PART_BYTES, size) - 1
        try:
            response = self._s3().get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end}")
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 416:
                raise _SizeMismatchError from None  # shorter than the manifest says
            raise
        if not str(response.get("ContentRange", "")).endswith(f"/{size}"):
            response["Body"].close()
            raise _SizeMismatchError
        offset = start
        body = response["Body"]
        while chunk := body.read(CHUNK_BYTES):
            self._check_deadline(key)
            os.pwrite(descriptor, chunk, offset)
            offset += len(chunk)

    def _stream_to(self, key: str, path: Path) -> tuple[str, int]:
        body = self._s3().get_object(Bucket=self.bucket, Key=key)["Body"]
        digest = hashlib.sha256()
        size = 0
        with path.open("wb") as handle:
            for chunk in body.iter_chunks(CHUNK_BYTES):
                self._check_deadline(key)
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        return digest.hexdigest(), size

    def _get_bytes(self, key: str) -> bytes:
        return bytes(self._s3().get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def _with_retries(self, url: str, action: Callable[[], T]) -> T:
        for attempt in range(self.retry.attempts):
            self._check_deadline(url)
            try:
                return action()
            except ModelUnavailableError:
                raise
            except Exception as exc:
                last_try = attempt + 1 == self.retry.attempts
                if not _is_retryable(exc):
                    raise ModelUnavailableError(_permanent_message(url, exc)) from None
                if last_try:
                    raise ModelUnavailableError(
                        f"{url} could not be fetched after {self.retry.attempts} attempts: {_describe(exc)}"
                    ) from None
                delay = min(self.retry.delay(attempt), self._deadline.remaining())
                log.warning(
                    "S3 fetch failed; retrying",
                    extra={"url": url, "attempt": attempt + 1, "error": _describe(exc), "delay_s": round(delay, 3)},
                )
                self.retry.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def _permanent_message(url: str, exc: Exception) -> str:
    code = ""
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
    if code in {"NoSuchKey", "404", "NotFound"}:
        return f"{url} does not exist; upload the built artifact (`modelrail push`) or fix MODELRAIL_MODEL_PREFIX"
    if code == "NoSuchBucket":
        return f"{url}: the bucket does not exist; fix MODELRAIL_MODEL_BUCKET"
    if code in {"AccessDenied", "403", "Forbidden"}:
        return f"{url}: access denied; the function's role needs s3:GetObject on this prefix"
    return f"{url} could not be fetched: {_describe(exc)}"


STALE_PART_S = 15 * 60.0
"""A ``.part`` file untouched this long belongs to no live download (every fetch gives up within its function's
timeout, at most 15 minutes on Lambda): a process that died mid-download left it, and the next fetch removes it."""


def _sweep_stale_parts(directory: Path, *, older_than_s: float) -> None:
    now = time.time()
    for path in directory.glob(".*.part"):
        try:
            if now - path.stat().st_mtime > older_than_s:
                path.unlink()
        except OSError:
            continue  # another process's download finished (or swept it) first


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
